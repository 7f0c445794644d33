// Live events applied to the board's loaded lists: insert, update and remove by id, in the
// console's order, without reloading the lists.
import { describe, expect, it } from "vitest";

import { alarmOrder, applyAlarmEvent, applyOrderEvent, insertSorted, orderOrder, replaceRow } from "@/boardlive";
import { alarm, order } from "./fixtures";

const event = (over: Record<string, unknown> = {}) => ({
  alarm_id: "new", site: "demo", building: "B1", equipment: "P-01", equipment_type: "pump",
  rule: "pump.dry_running", fault_code: "PUMP_DRY_RUNNING", family: "flow", severity: "critical",
  priority: 1, transition: "activate", state: "active_unack", previous_state: "normal",
  at: "2026-03-02T07:00:00Z", value: 0.2, message: "P-01: running dry", message_key: "rule.pump.dry_running",
  params: { equipment: "P-01" }, maintenance: "reactive", actor: null,
  ...over,
});
const LOADED = [
  alarm({ id: "p1", priority: 1, raised_at: "2026-03-02T05:00:00Z", updated_at: "2026-03-02T05:00:00Z" }),
  alarm({ id: "p2-new", priority: 2, raised_at: "2026-03-02T06:30:00Z", updated_at: "2026-03-02T06:30:00Z" }),
  alarm({ id: "p2-old", priority: 2, raised_at: "2026-03-02T06:00:00Z", updated_at: "2026-03-02T06:00:00Z" }),
];

describe("alarm events on the board's list", () => {
  it("puts a new alarm in the console's order (priority, then newest) and asks for its row", () => {
    const done = applyAlarmEvent(LOADED, event());
    expect(done.list.map((a) => a.id)).toEqual(["new", "p1", "p2-new", "p2-old"]);
    expect(done.fetch).toBe("new");
    const row = done.list[0]!;
    expect(row).toMatchObject({ state: "active_unack", priority: 1, severity: "critical", open: true, value: 0.2, message: "P-01: running dry" });
    expect(row.raised_at).toBe("2026-03-02T07:00:00Z");
    const p3 = applyAlarmEvent(LOADED, event({ priority: 3, alarm_id: "low" }));
    expect(p3.list.map((a) => a.id)).toEqual(["p1", "p2-new", "p2-old", "low"]);
    expect(LOADED).toHaveLength(3); // the loaded list itself is not changed
  });

  it("updates an alarm in place: acknowledged by whom, a new value, a new priority moves it", () => {
    const acked = applyAlarmEvent(LOADED, event({ alarm_id: "p2-old", transition: "acknowledge", state: "active_ack", priority: 2, value: 96.5, actor: "li.wei" }));
    expect(acked.list.map((a) => a.id)).toEqual(["p1", "p2-new", "p2-old"]);
    expect(acked.list[2]).toMatchObject({ state: "active_ack", acked_by: "li.wei", acked_at: "2026-03-02T07:00:00Z", value: 96.5 });
    expect(acked.fetch).toBe("p2-old");
    const worse = applyAlarmEvent(LOADED, event({ alarm_id: "p2-old", priority: 1, value: 120, transition: "escalate" }));
    expect(worse.list.map((a) => a.id)).toEqual(["p2-old", "p1", "p2-new"]); // now P1, raised after p1
    expect(worse.list[0]).toMatchObject({ priority: 1, value: 120, value_text: null });
  });

  it("removes an alarm back to normal, and ignores an event older than the row", () => {
    const cleared = applyAlarmEvent(LOADED, event({ alarm_id: "p1", state: "normal", transition: "acknowledge" }));
    expect(cleared.list.map((a) => a.id)).toEqual(["p2-new", "p2-old"]);
    expect(cleared.fetch).toBeNull();
    const unknownNormal = applyAlarmEvent(LOADED, event({ alarm_id: "gone", state: "normal" }));
    expect(unknownNormal.list).toBe(LOADED);
    const stale = applyAlarmEvent(LOADED, event({ alarm_id: "p2-new", state: "active_ack", at: "2026-03-02T06:10:00Z" }));
    expect(stale.list).toBe(LOADED);
    expect(stale.fetch).toBeNull();
    expect(applyAlarmEvent(LOADED, { state: "active_unack" }).list).toBe(LOADED); // no id: nothing
  });

  it("puts a fetched row in place of its provisional one, and not back once it left", () => {
    const { list } = applyAlarmEvent(LOADED, event());
    const fetched = { ...list[0]!, text: "P-01：干转", value_text: "0.2 m³/h" };
    const replaced = replaceRow(list, fetched, alarmOrder);
    expect(replaced.map((a) => a.id)).toEqual(["new", "p1", "p2-new", "p2-old"]);
    expect(replaced[0]!.text).toBe("P-01：干转");
    expect(replaceRow(LOADED, fetched, alarmOrder)).toBe(LOADED);
  });
});

describe("work-order events on the board's list", () => {
  const ORDERS = [order({ id: 9, created_at: "2026-03-02T06:30:00Z" }), order({ id: 7, created_at: "2026-03-02T06:00:00Z" })];
  const change = (over: Record<string, unknown>) => ({
    work_order_id: 7, site: "demo", equipment: "P-01", kind: "reactive", change: "assigned", status: "assigned",
    priority: 2, title: "t", at: "2026-03-02T07:00:00Z", actor: "boss", assigned_to: "li.wei", ...over,
  });

  it("updates, inserts newest first and removes closed or cancelled orders", () => {
    const assigned = applyOrderEvent(ORDERS, change({}));
    expect(assigned.list.map((o) => o.id)).toEqual([9, 7]);
    expect(assigned.list[1]).toMatchObject({ status: "assigned", assigned_to: "li.wei" });
    expect(assigned.fetch).toBeNull();
    const created = applyOrderEvent(ORDERS, change({ work_order_id: 12, change: "created", status: "open", assigned_to: null }));
    expect(created.list.map((o) => o.id)).toEqual([12, 9, 7]);
    expect(created.fetch).toBe(12);
    for (const status of ["closed", "cancelled"]) {
      expect(applyOrderEvent(ORDERS, change({ work_order_id: 9, status })).list.map((o) => o.id)).toEqual([7]);
    }
    expect(applyOrderEvent(ORDERS, change({ work_order_id: 1, status: "closed" })).list).toBe(ORDERS);
  });

  it("keeps a sorted list sorted when inserting", () => {
    const sorted = insertSorted([3, 5, 8], 5, (a, b) => a - b);
    expect(sorted).toEqual([3, 5, 5, 8]);
    expect(insertSorted(ORDERS, order({ id: 8, created_at: "2026-03-02T06:00:00Z" }), orderOrder).map((o) => o.id)).toEqual([9, 8, 7]);
  });
});
