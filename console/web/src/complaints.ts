// Complaints (投诉): the API's enumerations in the order the forms offer them, the
// site-time entry of the time received ("2026-03-31 23:30" at the site → UTC ISO), the log
// form's own checks before sending, and the timeline's changes in the reader's words.
import type { Schemas } from "@/api/client";

export type Channel = Schemas["Channel"];
export type Category = Schemas["Category"];
export type Outcome = Schemas["Outcome"];

export const CHANNELS: readonly Channel[] = ["phone", "walk_in", "online", "wecom", "letter", "hotline_12345"];
export const CATEGORIES: readonly Category[] = [
  "service_attitude",
  "repair_quality",
  "repair_delay",
  "cleanliness",
  "security",
  "noise",
  "charges",
  "other",
];
export const OUTCOMES: readonly Outcome[] = ["resolved", "partially_resolved", "unfounded", "withdrawn"];

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})$/;

/** Minutes `zone` is ahead of UTC at the instant `utcMs`. */
function offsetMinutes(utcMs: number, zone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).formatToParts(new Date(utcMs));
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(part("year"), part("month") - 1, part("day"), part("hour"), part("minute"));
  return Math.round((wall - Math.floor(utcMs / 60000) * 60000) / 60000);
}

/** A wall time "YYYY-MM-DD HH:mm" on the clock of `zone` as a UTC ISO string; null when it
 * is not such a time. (Twice-corrected for the zone's offset at that moment, so daylight
 * saving zones come out right too.) */
export function zonedToIso(local: string, zone: string): string | null {
  const m = LOCAL.exec(local.trim());
  if (!m) return null;
  const [year, month, day, hour, minute] = m.slice(1).map(Number) as [number, number, number, number, number];
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const check = new Date(wall);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59) return null;
  let utc = wall - offsetMinutes(wall, zone) * 60000;
  utc = wall - offsetMinutes(utc, zone) * 60000;
  return new Date(utc).toISOString();
}

/** The clocks of a complaint that ran out, as catalogue keys. */
export function overdueKeys(overdue: readonly string[] | undefined): string[] {
  return (overdue ?? []).map((clock) => (clock === "response" ? "complaint.overdueResponse" : "complaint.overdueResolution"));
}

/** Fields the log form checks before sending. */
export type FormField = "building" | "room" | "description" | "complainant" | "phone";
const HIDDEN_ONE_LINE = /[\p{Cf}\p{Cc}]/u;
const HIDDEN_LINES = /[\p{Cf}\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u;
const PHONE = /^\+?[0-9][0-9 -]{2,30}$/;

/** The phone number as the server stores it (NFKC: an IME's full-width digits become ASCII),
 * or null when it is no phone number (digits, spaces, "-", a leading "+"; 5 digits at least). */
export function normalPhone(raw: string): string | null {
  const phone = raw.normalize("NFKC").trim();
  const digits = phone.match(/[0-9]/g)?.length ?? 0;
  return PHONE.test(phone) && digits >= 5 ? phone : null;
}

function blank(text: string): boolean {
  return text.replace(/[\p{Cf}\p{Cc}]/gu, "").trim() === "";
}

/** What is wrong with the form, as catalogue keys by field (empty: send it). The server
 * checks the same and more; this spares the user a round trip and speaks the form's words. */
export function checkComplaint(form: Record<FormField, string>): Partial<Record<FormField, string>> {
  const problems: Partial<Record<FormField, string>> = {};
  for (const field of ["building", "room", "description"] as const) {
    if (blank(form[field])) problems[field] = "complaint.required";
  }
  for (const field of ["building", "room", "complainant", "description"] as const) {
    const hidden = field === "description" ? HIDDEN_LINES : HIDDEN_ONE_LINE;
    if (!problems[field] && hidden.test(form[field])) problems[field] = "complaint.hiddenChars";
  }
  if (form.phone.trim() && normalPhone(form.phone) === null) problems.phone = "complaint.phoneInvalid";
  return problems;
}

/** Timeline field → catalogue key of its label. */
export const FIELD_LABELS: Readonly<Record<string, string>> = {
  handler: "complaint.handler",
  responded_at: "complaint.respondedAt",
  resolved_at: "complaint.resolvedAt",
  outcome: "complaint.outcome",
  accepted: "complaint.accepted",
  channel: "complaint.channel",
  category: "complaint.category",
};
const VALUE_GROUPS: Readonly<Record<string, "complaintOutcome" | "complaintChannel" | "complaintCategory">> = {
  outcome: "complaintOutcome",
  channel: "complaintChannel",
  category: "complaintCategory",
};
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T/;

/** How the page speaks: catalogue texts, value labels and times on the site's clock. */
export interface Speaker {
  t: (key: string) => string;
  label: (group: "complaintOutcome" | "complaintChannel" | "complaintCategory", value: string) => string;
  time: (iso: string) => string;
}

/** One value of a timeline change in the reader's words. */
export function changeValue(field: string, value: unknown, speak: Speaker): string {
  if (value === null || value === undefined || value === "") return "–";
  if (typeof value === "boolean") return speak.t(value ? "common.yes" : "common.no");
  const group = VALUE_GROUPS[field];
  if (group && typeof value === "string") return speak.label(group, value);
  if (typeof value === "string") return ISO_TIME.test(value) ? speak.time(value) : value;
  return JSON.stringify(value);
}

/** A timeline change (field → [before, after]) as the label and the two values. */
export function changeWords(field: string, change: unknown, speak: Speaker): { field: string; before: string; after: string } {
  const [before, after] = Array.isArray(change) ? change : [undefined, change];
  const key = FIELD_LABELS[field];
  return {
    field: key ? speak.t(key) : field,
    before: changeValue(field, before, speak),
    after: changeValue(field, after, speak),
  };
}
