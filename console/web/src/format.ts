// Formatting of times and numbers for display: 24-hour clock in the UI's language. Times
// come from the API in UTC (ISO 8601) and show in the browser's zone for now.
import type { Locale } from "@/i18n";

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

function dateTimeFormat(locale: Locale, withDate: boolean): Intl.DateTimeFormat {
  const key = `${locale}|${withDate}`;
  let format = dateTimeFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, {
      ...(withDate ? { month: "2-digit", day: "2-digit" } : {}),
      hour: "2-digit",
      minute: "2-digit",
      ...(withDate ? {} : { second: "2-digit" }),
      hourCycle: "h23",
    });
    dateTimeFormats.set(key, format);
  }
  return format;
}

/** Month, day, hour and minute of an ISO time ("" for none). */
export function formatTime(iso: string | null | undefined, locale: Locale): string {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTimeFormat(locale, true).format(date);
}

/** Hour, minute and second of a moment (the "updated" stamp). */
export function formatClock(date: Date, locale: Locale): string {
  return dateTimeFormat(locale, false).format(date);
}

/** A chart tick (seconds since the epoch): "06-12 14:05" with the date, "14:05:30" without. */
export function formatTick(seconds: number, withDate: boolean, locale: Locale): string {
  const date = new Date(seconds * 1000);
  return withDate ? dateTimeFormat(locale, true).format(date) : dateTimeFormat(locale, false).format(date);
}

/** A reading for display: integers as they are, other numbers with two decimals. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (typeof value === "string" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** A share (0..1) as a percentage with one decimal, or null. */
export function formatShare(value: unknown): string | null {
  return typeof value === "number" ? `${Math.round(value * 1000) / 10}%` : null;
}

/** A number with one decimal, or null. */
export function formatOne(value: unknown): string | null {
  return typeof value === "number" ? String(Math.round(value * 10) / 10) : null;
}

/** Whether an ISO time lies in the past. */
export function isPast(iso: string | null | undefined, now: Date = new Date()): boolean {
  return Boolean(iso) && new Date(iso as string).getTime() < now.getTime();
}
