// Alarm domain rules the UI needs: the ISA-18.2 states, which actions each allows, the
// console's order (priority, then newest) and the tag colour of a severity.

export const ALARM_STATES = [
  "normal",
  "active_unack",
  "active_ack",
  "rtn_unack",
  "shelved",
  "suppressed",
  "out_of_service",
] as const;

export type TagType = "danger" | "warning" | "primary" | "info" | "success";

export const SEVERITY_TAG: Record<string, TagType> = {
  critical: "danger",
  major: "warning",
  minor: "primary",
  warning: "info",
};

/** Acknowledging applies to unacknowledged alarms, active or returned. */
export function canAcknowledge(state: string): boolean {
  return state === "active_unack" || state === "rtn_unack";
}

/** Waiting for an operator: unacknowledged, active or returned (these flash and sound). */
export function isWaiting(state: string): boolean {
  return state === "active_unack" || state === "rtn_unack";
}

/** Shelving applies to alarms the operator still sees. */
export function canShelve(state: string): boolean {
  return state === "active_unack" || state === "active_ack" || state === "rtn_unack";
}

/** Highest priority (1) first, then newest first. */
export function compareAlarms(
  a: { priority: number; raised_at: string },
  b: { priority: number; raised_at: string },
): number {
  return a.priority - b.priority || new Date(b.raised_at).getTime() - new Date(a.raised_at).getTime();
}

/** What an operator can do to an alarm from the console. */
export type AlarmAction = "acknowledge" | "shelve" | "comment" | "outOfService" | "returnToService" | "confirmLeak" | "notLeak" | "expectedUse";

/** What the action dialog needs of an alarm (a summary or its detail). */
export interface AlarmSubject {
  id: string;
  site: string;
  equipment: string;
  message: string;
  fault_code: string;
  text?: string;
  maintenance?: string;
}

/** A leak alarm (its rule waits for a person: `maintenance: confirm`) still unacknowledged
 * and without an order: its answer is the verdict, not a plain acknowledgement. */
export function waitsForVerdict(a: { maintenance?: string; open?: boolean; state: string; order_id?: number | null }): boolean {
  return a.maintenance === "confirm" && a.open !== false && !a.order_id && canAcknowledge(a.state);
}

/** The i18n key of a standing verdict's words: a leak alarm's "leak"/"not a leak", an
 * off-hours one's "waste"/"expected use". */
export function verdictKey(family: string | null | undefined, leak: boolean): string {
  const waste = family === "waste";
  if (leak) return waste ? "alarmPage.verdictWaste" : "alarmPage.verdictLeak";
  return waste ? "alarmPage.verdictExpected" : "alarmPage.verdictNone";
}

/** An open off-hours (waste) alarm: "expected use" teaches its meter the level as the new
 * off-hours normal (a supervisor can reverse it). */
export function takesExpectedUse(a: { family?: string; open?: boolean; state: string }): boolean {
  return a.family === "waste" && a.open !== false && a.state !== "out_of_service";
}

/** Shelving durations offered, in minutes; any other length can be typed. */
export const SHELVE_MINUTES = [15, 60, 240, 480, 1440] as const;
/** The longest shelf the console allows (the server's limit too). */
export const MAX_SHELVE_MINUTES = 7 * 24 * 60;

/** Work-order statuses after which nobody is on the order: shown as such, not "unassigned"
 * (fourth review of issue 20, M1: a cancelled leak order read "#13 未派单"). */
export const ORDER_ENDED: ReadonlySet<string> = new Set(["resolved", "verified", "closed", "cancelled"]);
