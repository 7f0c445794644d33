// Labels of API values (alarm states, statuses, points, …) in the UI's language; a value
// the catalogue does not know yet shows as it is rather than as a key.
import { useI18n } from "vue-i18n";

import { formatTick, formatTime, formatValue } from "@/format";
import type { Locale } from "@/i18n";

export type LabelGroup =
  | "alarmState"
  | "severity"
  | "orderStatus"
  | "orderKind"
  | "orderAction"
  | "stage"
  | "equipmentType"
  | "point"
  | "range"
  | "alertTarget"
  | "noticeStatus"
  | "attemptStatus"
  | "channelKind"
  | "channelSetting"
  | "channelSecret"
  | "stopReason"
  | "escalationStatus"
  | "weekday"
  | "onCallSource";

export function useLabels() {
  const i18n = useI18n();
  const label = (group: LabelGroup, value: string | null | undefined): string => {
    if (value === null || value === undefined) return "";
    const key = `${group}.${value}`;
    return i18n.te(key) ? i18n.t(key) : value;
  };
  const locale = () => i18n.locale.value as Locale;
  const time = (iso: string | null | undefined): string => formatTime(iso, locale());
  const tick = (seconds: number, withDate: boolean): string => formatTick(seconds, withDate, locale());
  /** A reading: yes/no for booleans, else the number. */
  const reading = (value: unknown): string =>
    typeof value === "boolean" ? i18n.t(value ? "common.yes" : "common.no") : formatValue(value);
  return { t: i18n.t, label, time, tick, reading, locale: i18n.locale };
}
