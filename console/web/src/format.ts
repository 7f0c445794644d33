// Formatting of times and numbers for display: 24-hour clock in the UI's language. Times
// come from the API in UTC (ISO 8601) and show on the site's clock with its zone ("GMT+8")
// when a zone is given (the browser's zone otherwise, for charts' own axes).
import type { PointOut } from "@/api/client";
import type { Locale } from "@/i18n";

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

function dateTimeFormat(locale: Locale, withDate: boolean, zone?: string, withYear = false): Intl.DateTimeFormat {
  const key = `${locale}|${withDate}|${zone ?? ""}|${withYear}`;
  let format = dateTimeFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, {
      ...(withYear ? { year: "numeric" } : {}),
      ...(withDate ? { month: "2-digit", day: "2-digit" } : {}),
      hour: "2-digit",
      minute: "2-digit",
      ...(withDate ? {} : { second: "2-digit" }),
      hourCycle: "h23",
      ...(zone ? { timeZone: zone, timeZoneName: "shortOffset" } : {}),
    });
    dateTimeFormats.set(key, format);
  }
  return format;
}

/** Date and clock first, the zone last, whatever order the locale's own format uses. */
function withZoneLast(format: Intl.DateTimeFormat, date: Date): string {
  const parts = format.formatToParts(date);
  const zone = parts.find((p) => p.type === "timeZoneName")?.value;
  const rest = parts
    .filter((p) => p.type !== "timeZoneName")
    .map((p) => p.value)
    .join("")
    .replace(/\s{2,}/g, " ")
    .trim();
  return zone ? `${rest} ${zone}` : rest;
}

/** Month, day, hour and minute of an ISO time ("" for none), in `zone` with the zone shown
 * after the clock: "12/06 14:05 GMT+8"; the year too when it is not this year in that zone
 * ("2025/12/31 23:50 GMT+8"), so a clock across a year end or a date long ago is not read as
 * this year's. */
export function formatTime(iso: string | null | undefined, locale: Locale, zone?: string, now: Date = new Date()): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const withYear = yearOf(date, zone) !== yearOf(now, zone);
  return withZoneLast(dateTimeFormat(locale, true, zone, withYear), date);
}

/** An ISO time with its year always (a record kept for years, e.g. a purchase request's:
 * "12/07" alone reads as 12 July in English; review 19c-s L4). */
export function formatFullTime(iso: string | null | undefined, locale: Locale, zone?: string): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return withZoneLast(dateTimeFormat(locale, true, zone, true), date);
}

function yearOf(date: Date, zone?: string): string {
  return new Intl.DateTimeFormat("en", { year: "numeric", ...(zone ? { timeZone: zone } : {}) }).format(date);
}

/** The whole local date of an ISO time ("" for none), in `zone`: "2026-03-08" in both
 * languages (year first, as the site's people write dates and as lists sort). */
export function formatDate(iso: string | null | undefined, locale: Locale, zone?: string): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const parts = new Intl.DateTimeFormat(locale, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    ...(zone ? { timeZone: zone } : {}),
  }).formatToParts(date);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")}`;
}

/** Hour, minute and second of a moment (the "updated" stamp), in `zone` with the zone. */
export function formatClock(date: Date, locale: Locale, zone?: string): string {
  return withZoneLast(dateTimeFormat(locale, false, zone), date);
}

const AGE_UNITS: Record<Locale, [string, string, string, string]> = {
  en: [" s", " min", " h", " d"],
  "zh-CN": ["秒", "分钟", "小时", "天"],
};

/** How old something is, in the largest sensible unit: "8 s", "3 min", "2 h", "5 d". */
export function formatAge(seconds: number | null | undefined, locale: Locale = "en"): string {
  if (seconds === null || seconds === undefined) return "—";
  const [s, min, h, d] = AGE_UNITS[locale];
  if (seconds < 90) return `${Math.round(seconds)}${s}`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)}${min}`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)}${h}`;
  return `${Math.round(seconds / 86400)}${d}`;
}

const numberFormats = new Map<string, Intl.NumberFormat>();

/** A number with the locale's separators and `precision` decimals (as needed, ≤ 3, if null). */
export function formatNumber(value: number, locale: Locale, precision: number | null | undefined): string {
  const key = `${locale}|${precision ?? "auto"}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, precision === null || precision === undefined
      ? { maximumFractionDigits: 3 }
      : { minimumFractionDigits: precision, maximumFractionDigits: precision });
    numberFormats.set(key, format);
  }
  return format.format(value);
}

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** An amount of money in yuan: "¥1,234,567.89", grouped by the locale, 2 decimals (review
 * 19h L4: the order page printed "3827996.48"). */
export function formatMoney(value: number, locale: Locale): string {
  let format = moneyFormats.get(locale);
  if (!format) {
    format = new Intl.NumberFormat(locale, { style: "currency", currency: "CNY", currencyDisplay: "narrowSymbol", minimumFractionDigits: 2, maximumFractionDigits: 2 });
    moneyFormats.set(locale, format);
  }
  return format.format(value);
}

/** A reading with its point's unit and decimals ("87.3 °C"); yes/no words for yes/no points. */
export function formatReading(
  value: unknown,
  point: PointOut | null,
  locale: Locale,
  words: { yes: string; no: string },
): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean" || (point?.boolean && typeof value === "number")) {
    return value === true || value === 1 ? words.yes : words.no;
  }
  if (typeof value !== "number") return formatValue(value);
  if (!point) return formatValue(value);
  const text = formatNumber(value, locale, point.precision);
  return point.unit ? `${text} ${point.unit}` : text;
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
