// Live alarm and work-order events applied to lists already loaded (the board): a change is
// on the screen as soon as its event arrives, without reloading hundreds of rows. Pure
// functions; the board calls them and fetches the one row an event cannot fill in (the
// text in the reader's language, a value with its unit, an order's dates).
//
// The event's `data` is the broker document (core.models AlarmEvent / WorkOrderEvent). The
// lists hold open alarms (priority, then newest raised first, as `GET /api/alarms` sorts
// them) and open orders (newest first, as `GET /api/work-orders`). A lost event is not
// guessed at: the stream resumes from its last id or says it cannot, and then the board
// reloads (a `reset`).
import type { AlarmSummary, WorkOrderSummary } from "@/api/client";

/** Order statuses that are no longer open (maintenance's TERMINAL_STATUSES). */
export const CLOSED_ORDER = new Set(["closed", "cancelled"]);

/** What applying one event did: the new list, and the row to fetch for what it lacks. */
export interface Applied<T, K> {
  list: T[];
  fetch: K | null;
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The console's alarm order: priority, then newest raised first. */
export function alarmOrder(a: AlarmSummary, b: AlarmSummary): number {
  return a.priority - b.priority || Date.parse(b.raised_at) - Date.parse(a.raised_at);
}

/** The work-order list's order: newest first, then the higher number. */
export function orderOrder(a: WorkOrderSummary, b: WorkOrderSummary): number {
  return Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id;
}

/** `item` put where `compare` places it in the sorted `list` (after its equals). */
export function insertSorted<T>(list: T[], item: T, compare: (a: T, b: T) => number): T[] {
  let at = list.findIndex((other) => compare(item, other) < 0);
  if (at < 0) at = list.length;
  return [...list.slice(0, at), item, ...list.slice(at)];
}

/** An alarm row from an event about an alarm the list does not hold yet. */
function newAlarm(d: Record<string, unknown>, id: string, at: string): AlarmSummary {
  return {
    id,
    site: str(d.site) ?? "",
    building: str(d.building) ?? "",
    equipment: str(d.equipment) ?? "",
    equipment_type: str(d.equipment_type) ?? "",
    rule: str(d.rule) ?? "",
    fault_code: str(d.fault_code) ?? "",
    family: str(d.family) ?? "",
    severity: str(d.severity) ?? "warning",
    priority: num(d.priority) ?? 4,
    state: str(d.state) ?? "active_unack",
    open: true,
    raised_at: at,
    cleared_at: null,
    acked_at: null,
    acked_by: null,
    shelved_until: null,
    value: num(d.value),
    message: str(d.message) ?? "",
    message_key: str(d.message_key) ?? "",
    params: d.params && typeof d.params === "object" ? (d.params as Record<string, unknown>) : {},
    text: "",
    value_text: null,
    maintenance: str(d.maintenance) ?? "none",
    activations: 1,
    updated_at: at,
  };
}

/** An alarm row after one of its transitions. */
function changedAlarm(old: AlarmSummary, d: Record<string, unknown>, at: string): AlarmSummary {
  const transition = str(d.transition);
  const next: AlarmSummary = {
    ...old,
    state: str(d.state) ?? old.state,
    priority: num(d.priority) ?? old.priority,
    severity: str(d.severity) ?? old.severity,
    updated_at: at,
  };
  if ("value" in d && num(d.value) !== old.value) {
    next.value = num(d.value);
    next.value_text = null; // stale until the row is fetched
  }
  if (transition === "acknowledge") Object.assign(next, { acked_at: at, acked_by: str(d.actor) });
  if (transition === "clear") next.cleared_at = at;
  if (transition === "activate") next.activations = old.activations + 1;
  if (transition === "unshelve") next.shelved_until = null;
  return next;
}

/**
 * Apply an alarm event to the open alarms: a new alarm goes in at its place, a change
 * updates its row (moved if its priority changed), an alarm back to normal leaves the list.
 * `fetch` is the alarm to read again for its text and value in the reader's language.
 */
export function applyAlarmEvent(list: AlarmSummary[], data: Record<string, unknown>): Applied<AlarmSummary, string> {
  const id = str(data.alarm_id);
  const state = str(data.state);
  if (id === null || state === null) return { list, fetch: null };
  const at = str(data.at) ?? new Date().toISOString();
  const index = list.findIndex((a) => a.id === id);
  if (state === "normal") {
    return { list: index < 0 ? list : list.filter((a) => a.id !== id), fetch: null };
  }
  const old = index < 0 ? null : list[index];
  if (old && Date.parse(old.updated_at) > Date.parse(at)) return { list, fetch: null }; // an older event
  const row = old ? changedAlarm(old, data, at) : newAlarm(data, id, at);
  const rest = index < 0 ? list : list.filter((a) => a.id !== id);
  return { list: insertSorted(rest, row, alarmOrder), fetch: id };
}

/**
 * Apply a work-order event to the open orders: a new order goes in first, a change updates
 * its row, a closed or cancelled order leaves the list. `fetch` is a new order's number
 * (its dates and texts are not in the event).
 */
export function applyOrderEvent(list: WorkOrderSummary[], data: Record<string, unknown>): Applied<WorkOrderSummary, number> {
  const id = num(data.work_order_id);
  const status = str(data.status);
  if (id === null || status === null) return { list, fetch: null };
  const index = list.findIndex((o) => o.id === id);
  if (CLOSED_ORDER.has(status)) {
    return { list: index < 0 ? list : list.filter((o) => o.id !== id), fetch: null };
  }
  const at = str(data.at) ?? new Date().toISOString();
  const old = index < 0 ? null : list[index];
  if (old) {
    const next = list.slice();
    next[index] = {
      ...old,
      status,
      priority: num(data.priority) ?? old.priority,
      kind: str(data.kind) ?? old.kind,
      assigned_to: "assigned_to" in data ? str(data.assigned_to) : old.assigned_to,
    };
    return { list: next, fetch: null };
  }
  const row: WorkOrderSummary = {
    id,
    site: str(data.site) ?? "",
    equipment: str(data.equipment) ?? "",
    kind: str(data.kind) ?? "reactive",
    status,
    priority: num(data.priority) ?? 4,
    title: str(data.title) ?? "",
    family: null,
    fault_code: null,
    alarm_count: 0,
    created_at: at,
    response_due: at,
    resolution_due: at,
    assigned_to: str(data.assigned_to),
    stage: "",
    stage_reason: "",
    stage_reason_text: {},
  };
  return { list: insertSorted(list, row, orderOrder), fetch: id };
}

/** Put a fetched row in place of the row with its id (kept out if the list dropped it). */
export function replaceRow<T extends { id: K }, K>(list: T[], row: T, compare: (a: T, b: T) => number): T[] {
  const index = list.findIndex((r) => r.id === row.id);
  if (index < 0) return list;
  return insertSorted(
    list.filter((r) => r.id !== row.id),
    row,
    compare,
  );
}
