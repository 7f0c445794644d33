// Labels of API values (alarm states, statuses, …) in the UI's language; a value the
// catalogue does not know yet shows as it is rather than as a key. Times show on the site's
// 24-hour clock with its zone; readings with their point's label, unit and decimals.
import { useI18n } from "vue-i18n";

import { formatDate, formatReading, formatTick, formatFullTime, formatTime } from "@/format";
import type { Locale } from "@/i18n";
import { useReference } from "@/stores/reference";

export type LabelGroup =
  | "alarmState"
  | "alarmTransition"
  | "priority"
  | "severity"
  | "orderStatus"
  | "orderKind"
  | "orderAction"
  | "stage"
  | "equipmentType"
  | "range"
  | "alertTarget"
  | "noticeStatus"
  | "attemptStatus"
  | "channelKind"
  | "channelSetting"
  | "channelOption"
  | "channelSecret"
  | "stopReason"
  | "escalationStatus"
  | "weekday"
  | "skill"
  | "onCallSource"
  | "complaintChannel"
  | "complaintCategory"
  | "complaintOutcome"
  | "complaintEvent";

export function useLabels() {
  const i18n = useI18n();
  const reference = useReference();
  const label = (group: LabelGroup, value: string | null | undefined): string => {
    if (value === null || value === undefined) return "";
    const key = `${group}.${value}`;
    return i18n.te(key) ? i18n.t(key) : value;
  };
  const locale = () => i18n.locale.value as Locale;
  /** An ISO time on the clock of `site` (the first site's when none is given). */
  const time = (iso: string | null | undefined, site?: string | null): string =>
    formatTime(iso, locale(), reference.zone(site));
  /** An ISO time with its year, always (records kept for years). */
  const fullTime = (iso: string | null | undefined, site?: string | null): string =>
    formatFullTime(iso, locale(), reference.zone(site));
  /** The whole date of an ISO time on the clock of `site`: "2026-03-08". */
  const day = (iso: string | null | undefined, site?: string | null): string =>
    formatDate(iso, locale(), reference.zone(site));
  const tick = (seconds: number, withDate: boolean): string => formatTick(seconds, withDate, locale());
  const words = () => ({ yes: i18n.t("common.yes"), no: i18n.t("common.no") });
  /** A reading of `point` of an equipment `type`, with its unit and decimals. */
  const reading = (value: unknown, type?: string, point?: string): string =>
    formatReading(value, type && point ? reference.point(type, point) : null, locale(), words());
  /** What people call a point, in the UI's language. */
  const pointLabel = (type: string, point: string): string => reference.pointLabel(type, point, locale());
  /** A text the API renders in every language (e.g. a stage reason): the reader's, else the fallback. */
  const inLanguage = (texts: Record<string, string> | null | undefined, fallback: string): string =>
    texts?.[locale()] ?? fallback;
  return { t: i18n.t, label, time, fullTime, day, tick, reading, pointLabel, inLanguage, locale: i18n.locale };
}
