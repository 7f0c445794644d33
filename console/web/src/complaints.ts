// Complaints (投诉): the API's enumerations in the order the forms offer them, and the
// site-time entry of the time received ("2026-03-31 23:30" at the site → UTC ISO).
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
