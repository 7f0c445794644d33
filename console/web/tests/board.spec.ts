// The building board: site → building → equipment, every device (the MQTT sensor too), each
// card with all its unacknowledged alarms, its data age and its open order; buildings with
// something waiting open by themselves, the others stay rows.
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { useLive } from "@/stores/live";
import BoardView from "@/views/BoardView.vue";
import { alarm, order } from "./fixtures";
import { FakeSocket, harness, page, stubApi } from "./helpers";

const eq = (id: string, type: string, building: string) => ({
  site: "demo", id, building, type, name: "", location: "", model: "", machine_class: null,
  installed: null, last_overhaul: null, rated: {}, params: {},
});
const EQUIPMENT = [
  eq("P-01", "pump", "B1"), eq("TS-01", "temp_sensor", "B1"),
  ...Array.from({ length: 6 }, (_, i) => eq(`E-${i}`, "elevator", `B${i + 2}`)),
];
const LIVENESS = {
  broker: true, fresh: true, newest_age_s: 1, stale_after_s: 30, gateways_offline: 0, devices_silent: 1,
  gateways: [{ site: "demo", gateway: "gw-1", state: "online", data_age_s: 1, status_age_s: 4, live: true }],
  devices: [
    { site: "demo", equipment: "P-01", gateway: "gw-1", data_age_s: 3, available: true, live: true },
    { site: "demo", equipment: "TS-01", gateway: "gw-1", data_age_s: 400, available: null, live: false },
  ],
};

beforeEach(() => {
  vi.stubGlobal("matchMedia", (query: string) => ({ matches: false, media: query, addEventListener: vi.fn(), removeEventListener: vi.fn() }));
});
afterEach(() => vi.unstubAllGlobals());

describe("the building board", () => {
  it("groups a portfolio by building and shows every waiting alarm, data age and order", async () => {
    const h = harness("en");
    stubApi({
      "GET /api/equipment": page(EQUIPMENT),
      "GET /api/alarms": page([
        alarm({ id: "a1", state: "active_unack", text: "bearing hot", value_text: "96.5 °C" }),
        alarm({ id: "a2", priority: 1, state: "rtn_unack", text: "dry running" }),
        alarm({ id: "a3", state: "shelved", text: "shelved one" }),
      ]),
      "GET /api/work-orders": page([order({ id: 7, status: "assigned", assigned_to: "li.wei" })]),
      "GET /api/liveness": LIVENESS,
      "GET /api/sites": page([]),
      "GET /api/points": {},
      "GET /api/readings/latest": { site: "demo", equipment: "x", measurement: "m", values: {} },
    });
    const view = mount(BoardView, { global: { plugins: h.plugins } });
    await flushPromises();
    await flushPromises();
    expect(view.get("#board-title").text()).toContain("buildings: 7 · devices: 8");
    expect(view.findAll(".building")).toHaveLength(7);
    // B1 has waiting alarms: it is open; the quiet buildings stay rows without cards
    const cards = view.findAll(".panel");
    expect(cards.map((c) => c.attributes("data-equipment"))).toEqual(["P-01", "TS-01"]);
    const pump = view.get(".panel[data-equipment='P-01']");
    expect(pump.findAll(".panel-alarm").map((a) => a.attributes("data-alarm"))).toEqual(["a2", "a1"]); // both, P1 first
    expect(pump.text()).toContain("96.5 °C");
    expect(pump.get(".panel-other[data-alarm='a3']").text()).toContain("shelved: shelved one"); // listed, not flashing
    expect(pump.get(".panel-age").text()).toBe("data 3 s ago");
    expect(pump.get(".panel-order").text()).toContain("li.wei");
    const sensor = view.get(".panel[data-equipment='TS-01']"); // the MQTT sensor has its card
    expect(sensor.get(".panel-age").classes()).toContain("stale");
    expect(view.get(".gateway").attributes("data-live")).toBe("on");
    const row = view.get(".building[data-building='B1']").text();
    expect(row).toContain("P1 ×1");
    expect(row).toContain("P2 ×1");
  });

  it("applies live alarm and order events to the loaded lists without reloading them", async () => {
    const h = harness("en");
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    const fresh = alarm({ id: "a9", priority: 1, state: "active_unack", text: "P-01 dry running (en text)", value_text: "0.2 m³/h", updated_at: "2026-03-02T07:00:00Z" });
    const calls = stubApi({
      "GET /api/equipment": page(EQUIPMENT),
      "GET /api/alarms": page([alarm({ id: "a1", state: "active_unack", text: "bearing hot" })]),
      "GET /api/alarms/a9": { ...fresh, events: [], work_order: null },
      "GET /api/work-orders": page([]),
      "GET /api/work-orders/12": { ...order({ id: 12, status: "open" }), description: "", source_alarm_id: "a9", updated_at: "2026-03-02T07:00:00Z", stage_detail: {} },
      "GET /api/liveness": LIVENESS,
      "GET /api/sites": page([]),
      "GET /api/points": {},
      "GET /api/readings/latest": { site: "demo", equipment: "x", measurement: "m", values: {} },
    });
    const view = mount(BoardView, { global: { plugins: h.plugins } });
    await flushPromises();
    useLive().connect({ token: () => "t", renew: () => Promise.resolve(true) });
    const socket = FakeSocket.all[0]!;
    socket.open();
    socket.send({ kind: "hello", last_id: 10, complete: true });
    const data = {
      alarm_id: "a9", site: "demo", building: "B1", equipment: "P-01", equipment_type: "pump", rule: "pump.dry",
      fault_code: "PUMP_DRY_RUNNING", family: "flow", severity: "critical", priority: 1, transition: "activate",
      state: "active_unack", previous_state: "normal", at: "2026-03-02T07:00:00Z", value: 0.2, message: "P-01: running dry",
    };
    socket.send({ id: 11, kind: "alarm", site: "demo", data });
    await view.vm.$nextTick();
    const pump = () => view.get(".panel[data-equipment='P-01']");
    // on the card at once (the event's own English text), then the row read in the reader's language
    expect(pump().findAll(".panel-alarm").map((a) => a.attributes("data-alarm"))).toEqual(["a9", "a1"]);
    await flushPromises();
    expect(pump().get(".panel-alarm[data-alarm='a9']").text()).toContain("0.2 m³/h");
    socket.send({ id: 12, kind: "alarm", site: "demo", data: { ...data, alarm_id: "a1", transition: "acknowledge", state: "active_ack", at: "2026-03-02T07:01:00Z", actor: "li.wei" } });
    socket.send({ id: 13, kind: "work_order", site: "demo", data: { work_order_id: 12, site: "demo", equipment: "P-01", kind: "reactive", change: "created", status: "open", priority: 1, title: "t", at: "2026-03-02T07:01:00Z" } });
    await flushPromises();
    expect(pump().findAll(".panel-alarm").map((a) => a.attributes("data-alarm"))).toEqual(["a9"]);
    expect(pump().get(".panel-other[data-alarm='a1']").text()).toContain("bearing hot");
    expect(pump().get(".panel-order").text()).toContain("12");
    // the lists were read once, at mount; the events read only their own rows
    const reads = calls.filter((c) => c.method === "GET").map((c) => c.path);
    expect(reads.filter((p) => p === "/api/alarms" || p === "/api/work-orders")).toEqual(["/api/alarms", "/api/work-orders"]);
    expect(reads.filter((p) => p === "/api/alarms/a9" || p === "/api/work-orders/12")).toEqual(["/api/alarms/a9", "/api/work-orders/12"]);
    useLive().disconnect();
  });
});
