// Alerting as the pages show and edit it: new documents, the channel kinds' settings and
// secrets, one-line summaries of steps and matches, and a notice's place in the escalation.
// The server validates every document again (`alerts.admin`); these only shape the forms.
import type { Schemas } from "@/api/client";

export type Contact = Schemas["Contact"];
export type Rota = Schemas["Rota"];
export type Policy = Schemas["Policy"];
export type Step = Schemas["Step"];
export type ChannelOut = Schemas["ChannelOut"];
export type ChannelIn = Schemas["ChannelIn"];
export type OnCall = Schemas["OnCallOut"];
export type AlarmNotifications = Schemas["AlarmNotifications"];
export type Notified = Schemas["NotifiedOut"];
type AlarmMatch = Schemas["AlarmMatch"];
type Window = Schemas["Window"];
type Holiday = Schemas["Holiday"];
type Override = Schemas["Override"];

/** A policy as its form edits it: every list present, times as HH:MM. */
export type PolicyDraft = Omit<Policy, "match" | "hours"> & {
  match: Required<AlarmMatch>;
  hours: (Window & { days: number[] })[];
};
/** A rota as its form edits it: every list present, times as HH:MM. */
export type RotaDraft = Omit<Rota, "holidays" | "overrides"> & { holidays: Holiday[]; overrides: Override[] };

export const ROTA_ROLES = ["primary", "backup", "supervisor"] as const;
export const PRIORITIES = [1, 2, 3, 4] as const;
export const EQUIPMENT_TYPES = [
  "elevator",
  "pump",
  "shaft_panel",
  "temp_sensor",
  "electricity_meter",
  "water_meter",
] as const;
export const WEEKDAYS = [0, 1, 2, 3, 4, 5, 6] as const;

/** A setting of a channel kind: its key, input type, and default. */
export interface SettingField {
  key: string;
  type: "text" | "number" | "select" | "switch";
  options?: string[];
  default?: string | number | boolean;
  required?: boolean;
}

/** Each kind's settings and secrets, as `alerts.channels` takes them. */
export const CHANNEL_KINDS: Record<string, { settings: SettingField[]; secrets: string[] }> = {
  dingtalk: {
    settings: [{ key: "url", type: "text", default: "https://oapi.dingtalk.com/robot/send" }],
    secrets: ["access_token", "sign_secret"],
  },
  wecom: {
    settings: [{ key: "url", type: "text", default: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send" }],
    secrets: ["key"],
  },
  feishu: {
    settings: [{ key: "url", type: "text", default: "https://open.feishu.cn/open-apis/bot/v2/hook/" }],
    secrets: ["hook_token", "sign_secret"],
  },
  sms: {
    settings: [
      { key: "access_key_id", type: "text", required: true },
      { key: "sign_name", type: "text", required: true },
      { key: "template_zh", type: "text", required: true },
      { key: "template_en", type: "text" },
      { key: "endpoint", type: "text", default: "https://dysmsapi.aliyuncs.com/" },
      { key: "region", type: "text", default: "cn-hangzhou" },
    ],
    secrets: ["access_key_secret"],
  },
  email: {
    settings: [
      { key: "host", type: "text", required: true },
      { key: "port", type: "number", default: 587 },
      { key: "security", type: "select", options: ["starttls", "tls", "none"], default: "starttls" },
      { key: "allow_plain_login", type: "switch", default: false },
      { key: "username", type: "text" },
      { key: "sender", type: "text", required: true },
    ],
    secrets: ["password"],
  },
  webhook: {
    settings: [{ key: "url", type: "text", required: true }],
    secrets: ["signing_secret"],
  },
};

export function newContact(): Contact {
  return { id: "", name: "", language: "zh-CN", email: null, phone: null, feishu_open_id: null, active: true };
}

/** A new rota: a day and a night shift, named in the UI's language (`shiftNames`). */
export function newRota(shiftNames: readonly [string, string]): Rota {
  return {
    id: "",
    name: "",
    shifts: [
      { name: shiftNames[0], start: "08:30" },
      { name: shiftNames[1], start: "20:30" },
    ],
    cycle: [{ primary: "", backup: null }],
    anchor: new Date().toISOString().slice(0, 10),
    holidays: [],
    overrides: [],
    supervisor: null,
  };
}

/** The draft of a stored policy (or of a new one). */
export function policyDraft(policy: Policy): PolicyDraft {
  const m = policy.match ?? {};
  return {
    ...policy,
    match: {
      priorities: m.priorities ?? [],
      equipment_types: m.equipment_types ?? [],
      rules: m.rules ?? [],
      buildings: m.buildings ?? [],
      fault_codes: m.fault_codes ?? [],
    },
    hours: (policy.hours ?? []).map((w) => ({ days: w.days ?? [...WEEKDAYS], start: hhmm(w.start), end: hhmm(w.end) })),
    quiet_hours: policy.quiet_hours
      ? { ...policy.quiet_hours, start: hhmm(policy.quiet_hours.start), end: hhmm(policy.quiet_hours.end) }
      : null,
  };
}

/** The draft of a stored rota (or of a new one). */
export function rotaDraft(rota: Rota): RotaDraft {
  return {
    ...rota,
    shifts: rota.shifts.map((s) => ({ ...s, start: hhmm(s.start) })),
    holidays: rota.holidays ?? [],
    overrides: (rota.overrides ?? []).map((o) => ({ ...o, start: o.start.slice(0, 16), end: o.end.slice(0, 16) })),
  };
}

export function newPolicy(): Policy {
  return {
    id: "",
    name: "",
    enabled: true,
    match: { priorities: [1], equipment_types: [], rules: [], buildings: [], fault_codes: [] },
    hours: [],
    rota: null,
    steps: [{ after_min: 0, notify: ["primary"], channels: null }],
    repeat_every_min: null,
    max_repeats: 12,
    channels: [],
    stop_on_clear: true,
    quiet_hours: null,
  };
}

/** "08:30" of "08:30:00" (the API answers with seconds; the pickers want minutes). */
export function hhmm(value: string | null | undefined): string {
  return value ? value.slice(0, 5) : "";
}

/** A channel's settings as the form edits them (SMS templates as two fields). */
export function settingsToForm(kind: string, settings: Record<string, unknown>): Record<string, unknown> {
  const form: Record<string, unknown> = {};
  for (const field of CHANNEL_KINDS[kind]?.settings ?? []) form[field.key] = settings[field.key] ?? field.default ?? "";
  if (kind === "sms") {
    const templates = (settings.templates ?? {}) as Record<string, string>;
    form.template_zh = templates["zh-CN"] ?? "";
    form.template_en = templates.en ?? "";
  }
  return form;
}

/** The settings the API takes from the form's values (empty fields left out). */
export function formToSettings(kind: string, form: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of CHANNEL_KINDS[kind]?.settings ?? []) {
    const value = form[field.key];
    if (value === "" || value === null || value === undefined) continue;
    if (field.key.startsWith("template_")) continue;
    out[field.key] = field.type === "number" ? Number(value) : value;
  }
  if (kind === "sms") {
    const templates: Record<string, string> = {};
    if (typeof form.template_zh === "string" && form.template_zh) templates["zh-CN"] = form.template_zh;
    if (typeof form.template_en === "string" && form.template_en) templates.en = form.template_en;
    out.templates = templates;
  }
  return out;
}

/** The secrets to send: typed values, and null for those asked to be removed. */
export function secretsToSend(values: Record<string, string>, removed: string[]): Record<string, string | null> | null {
  const out: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(values)) if (value) out[name] = value;
  for (const name of removed) out[name] = null;
  return Object.keys(out).length ? out : null;
}

/** The role behind a target: primary, backup, supervisor, or "contact" for contact:ID. */
export function targetRole(target: string): string {
  return target.startsWith("contact:") ? "contact" : target;
}

/** The contact a target names directly ("" for rota roles). */
export function targetContact(target: string): string {
  return target.startsWith("contact:") ? target.slice("contact:".length) : "";
}

/** A notice's place: its level's first notice, or which reminder. */
export function noticeStep(notice: { level: number; repeat: number }): { key: string; n: number } {
  return notice.repeat === 0 ? { key: "alerts.level", n: notice.level + 1 } : { key: "alerts.reminder", n: notice.repeat + 1 };
}

/** The steps in a line: "0 → primary; 5 → backup". */
export function stepsLine(steps: Step[], name: (target: string) => string): string {
  return steps.map((s) => `${s.after_min} → ${s.notify.map(name).join(", ")}`).join("; ");
}
