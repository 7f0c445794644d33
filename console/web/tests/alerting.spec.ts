// Alerting in the console: the form helpers, an alarm's notification timeline, and a site's
// alerting page (read by engineers, edited by supervisors).
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import {
  formToSettings,
  noticeStep,
  policyDraft,
  rotaDraft,
  secretsToSend,
  settingsToForm,
  stepsLine,
  type Policy,
} from "@/alerting";
import { useSession } from "@/stores/session";
import AlarmView from "@/views/AlarmView.vue";
import AlertsView from "@/views/AlertsView.vue";
import { alarm } from "./fixtures";
import { harness, page, stubApi, type Harness } from "./helpers";

const POLICY: Policy = {
  id: "p1-lifts",
  name: "P1 lifts",
  match: { priorities: [1], equipment_types: ["elevator"] },
  rota: "duty",
  steps: [
    { after_min: 0, notify: ["primary"] },
    { after_min: 5, notify: ["backup", "contact:chen"] },
  ],
  repeat_every_min: 2,
  channels: ["ding", "sms"],
  quiet_hours: { start: "22:00:00", end: "07:00:00", priorities: [3] },
};
const ROTA = {
  id: "duty",
  name: "Night duty",
  shifts: [
    { name: "day", start: "08:30:00" },
    { name: "night", start: "20:30:00" },
  ],
  cycle: [{ primary: "zhang", backup: "li" }],
  anchor: "2026-12-01",
  holidays: [],
  overrides: [{ start: "2026-12-02T02:00:00", end: "2026-12-02T05:00:00", primary: "li", backup: null, reason: "swap" }],
  supervisor: "chen",
};
const CONTACTS = [
  { id: "chen", name: "陈主管", language: "zh-CN", phone: "13800000003", email: null, feishu_open_id: null, active: true },
  { id: "li", name: "李四", language: "en", phone: "13800000002", email: null, feishu_open_id: null, active: true },
  { id: "zhang", name: "张三", language: "zh-CN", phone: "13800000001", email: "z@x.cn", feishu_open_id: null, active: true },
];

async function signIn(h: Harness, roles: string[]): Promise<void> {
  stubApi({ "GET /api/auth/me": { name: "u", roles, sites: ["demo"], kind: "user" } });
  sessionStorage.setItem("bw-access", "A");
  await useSession(h.pinia).restore();
}

beforeEach(() => {
  localStorage.clear();
  sessionStorage.clear();
  vi.stubGlobal("matchMedia", (query: string) => ({ matches: false, media: query, addEventListener: vi.fn(), removeEventListener: vi.fn() }));
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = "";
});

describe("alerting helpers", () => {
  it("drafts a policy for its form: lists present, times as HH:MM", () => {
    const draft = policyDraft(POLICY);
    expect(draft.match).toEqual({ priorities: [1], equipment_types: ["elevator"], rules: [], buildings: [], fault_codes: [] });
    expect(draft.hours).toEqual([]);
    expect(draft.quiet_hours).toMatchObject({ start: "22:00", end: "07:00", priorities: [3] });
  });

  it("drafts a rota: handovers and overrides at minute precision", () => {
    const draft = rotaDraft(ROTA);
    expect(draft.shifts.map((s) => s.start)).toEqual(["08:30", "20:30"]);
    expect(draft.overrides[0]).toMatchObject({ start: "2026-12-02T02:00", end: "2026-12-02T05:00" });
  });

  it("turns SMS settings into form fields and back", () => {
    const form = settingsToForm("sms", { access_key_id: "LTAI", sign_name: "物业", templates: { "zh-CN": "SMS_1" } });
    expect(form).toMatchObject({ template_zh: "SMS_1", template_en: "", endpoint: "https://dysmsapi.aliyuncs.com/" });
    expect(formToSettings("sms", form)).toEqual({
      access_key_id: "LTAI",
      sign_name: "物业",
      endpoint: "https://dysmsapi.aliyuncs.com/",
      region: "cn-hangzhou",
      templates: { "zh-CN": "SMS_1" },
    });
    expect(formToSettings("email", { host: "smtp.x", port: "587", security: "starttls", username: "", sender: "a@x" })).toEqual({
      host: "smtp.x",
      port: 587,
      security: "starttls",
      sender: "a@x",
    });
  });

  it("sends only typed secrets, and nulls for removed ones", () => {
    expect(secretsToSend({ access_token: "", sign_secret: "SEC1" }, [])).toEqual({ sign_secret: "SEC1" });
    expect(secretsToSend({ access_token: "" }, ["sign_secret"])).toEqual({ sign_secret: null });
    expect(secretsToSend({ access_token: "" }, [])).toBeNull();
  });

  it("names a notice's place and summarises steps", () => {
    expect(noticeStep({ level: 1, repeat: 0 })).toEqual({ key: "alerts.level", n: 2 });
    expect(noticeStep({ level: 0, repeat: 2 })).toEqual({ key: "alerts.reminder", n: 3 });
    expect(stepsLine(POLICY.steps, (x) => x.toUpperCase())).toBe("0 → PRIMARY; 5 → BACKUP, CONTACT:CHEN");
  });
});

const TIMELINE = {
  alarm_id: "a1",
  state: "active_ack",
  acknowledged_by: "li (notice link)",
  acknowledged_at: "2026-12-05T19:05:40Z",
  escalations: [
    { policy: "p1-lifts", round: 1, status: "stopped", started_at: "2026-12-05T19:00:30Z", next_at: null, stop_reason: "ack_link", stopped_at: "2026-12-05T19:05:40Z", stopped_by: "li (notice link)" },
  ],
  notifications: [
    {
      policy: "p1-lifts", round: 1, level: 0, repeat: 0, target: "primary", recipient: { id: "zhang", name: "张三" },
      due_at: "2026-12-05T19:00:30Z", status: "sent", channel: "sms", sent_at: "2026-12-05T19:00:31Z", digest_of: 1,
      attempts: [
        { at: "2026-12-05T19:00:30Z", channel: "ding", kind: "dingtalk", status: "failed", latency_ms: 12.4, response: "HTTP 503" },
        { at: "2026-12-05T19:00:31Z", channel: "sms", kind: "sms", status: "sent", latency_ms: 40.2, response: "OK" },
      ],
    },
    {
      policy: "p1-lifts", round: 1, level: 0, repeat: 1, target: "primary", recipient: { id: "zhang", name: "张三" },
      due_at: "2026-12-05T19:02:30Z", status: "sent", channel: "ding", sent_at: "2026-12-05T19:02:30Z", digest_of: 1, attempts: [],
    },
    {
      policy: "p1-lifts", round: 1, level: 1, repeat: 0, target: "backup", recipient: { id: "li", name: "李四" },
      due_at: "2026-12-05T19:05:30Z", status: "sent", channel: "ding", sent_at: "2026-12-05T19:05:30Z", digest_of: 3, attempts: [],
    },
    {
      policy: "p1-lifts", round: 1, level: 2, repeat: 0, target: "supervisor", recipient: null,
      due_at: "2026-12-05T19:10:30Z", status: "unresolved", channel: null, sent_at: null, digest_of: 0, attempts: [],
    },
  ],
  link_uses: [{ recipient: { id: "li", name: "李四" }, used_at: "2026-12-05T19:05:40Z", used_from: "10.0.0.7", outcome: "acknowledged" }],
};

describe("an alarm's page", () => {
  it("shows who was notified, when, how, and who acknowledged", async () => {
    const h = harness("zh-CN");
    await signIn(h, ["viewer"]);
    stubApi({
      "GET /api/alarms/a1": { ...alarm({ priority: 1, severity: "critical", state: "active_ack" }), events: [], work_order: { id: 7, status: "assigned", assigned_to: "li.wei", title_text: "x" } },
      "GET /api/alarms/a1/notifications": TIMELINE,
      "GET /api/alarms/a1/history": page([
        { at: "2026-03-02T06:00:00Z", kind: "transition", transition: "activate", state: "active_unack", actor: null, text: null },
        { at: "2026-03-02T06:01:00Z", kind: "transition", transition: "acknowledge", state: "active_ack", actor: "li", text: "on my way" },
      ]),
    });
    const view = mount(AlarmView, { props: { id: "a1" }, global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    expect(view.get("#acked-by").text()).toBe("li (notice link)");
    // Review 20d L1: its order and its history (who, when) on the alarm's own page.
    expect(view.get("#alarm-order").text()).toContain("#7");
    const lines = view.findAll("#alarm-page-history .el-timeline-item");
    expect(lines).toHaveLength(2);
    expect(lines[1]?.text()).toContain("li");
    expect(lines[1]?.text()).toContain("on my way");
    const rows = view.findAll("#notifications .el-table__body tr.el-table__row");
    expect(rows).toHaveLength(4);
    const texts = rows.map((r) => r.text());
    expect(texts[0]).toContain("张三");
    expect(texts[0]).toContain("值班主责");
    expect(texts[0]).toContain("第 1 级");
    expect(texts[0]).toContain("sms");
    expect(texts[0]).toContain("已送达");
    expect(texts[1]).toContain("第 2 次提醒");
    expect(texts[2]).toContain("备班");
    expect(texts[2]).toContain("汇总 3 条");
    expect(texts[3]).toContain("无人值班");
    expect(texts[3]).toContain("无人可通知");
    expect(view.get("#escalations").text()).toContain("通过确认链接");
    expect(view.get("#link-uses").text()).toContain("10.0.0.7");
    await rows[0]!.get(".el-table__expand-icon").trigger("click");
    await flushPromises();
    const attempts = view.findAll(".attempt");
    expect(attempts.map((a) => a.attributes("data-status"))).toEqual(["failed", "sent"]);
    expect(attempts[0]!.text()).toContain("HTTP 503");
    expect(attempts[0]!.text()).toContain("12 毫秒");
  });

  it("says so when there is no such alarm", async () => {
    const h = harness("en");
    await signIn(h, ["viewer"]);
    stubApi({});
    const view = mount(AlarmView, { props: { id: "nope" }, global: { plugins: h.plugins } });
    await flushPromises();
    expect(view.text()).toContain("There is no such alarm.");
  });
});

function siteApi(extra: Record<string, unknown> = {}) {
  return stubApi({
    "GET /api/sites": page([{ id: "demo", name: "Demo Tower", buildings: [], equipment_count: 4 }]),
    "GET /api/alerts/demo/contacts": page(CONTACTS),
    "GET /api/alerts/demo/rotas": page([ROTA]),
    "GET /api/alerts/demo/policies": page([POLICY]),
    "GET /api/alerts/demo/channels": page([
      { id: "ding", kind: "dingtalk", enabled: true, settings: { url: "https://oapi.dingtalk.com/robot/send" }, secrets_set: ["access_token"], updated_at: "2026-12-01T00:00:00Z", updated_by: "boss" },
    ]),
    "GET /api/alerts/demo/rotas/duty/on-call": {
      rota: "duty", at: "2026-12-05T19:00:00Z", shift: "night", starts_at: "2026-12-05T12:30:00Z", ends_at: "2026-12-06T00:30:00Z",
      source: "cycle", primary: { id: "zhang", name: "张三" }, backup: { id: "li", name: "李四" }, supervisor: { id: "chen", name: "陈主管" },
    },
    ...extra,
  });
}

// Element Plus's forms take seconds to mount in jsdom on a busy machine.
const SLOW = 60_000;

describe("the alerting page", () => {
  it("shows engineers who is on call and the policies, without editing", async () => {
    const h = harness("zh-CN");
    await signIn(h, ["engineer"]);
    siteApi();
    const view = mount(AlertsView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    const card = view.get('.on-call[data-rota="duty"]');
    expect(card.get(".primary").text()).toBe("张三");
    expect(card.get(".backup").text()).toBe("李四");
    expect(view.text()).toContain("只有主管可以修改。");
    expect(view.get("#policies").text()).toContain("0 → 值班主责; 5 → 备班, 陈主管");
    expect(view.find(".edit-policy").exists()).toBe(false);
  }, SLOW);

  it("lets a supervisor save a contact and shows the server's refusal of a policy", async () => {
    const h = harness("en");
    await signIn(h, ["supervisor"]);
    const calls = siteApi({
      "PUT /api/alerts/demo/contacts/wang": (c: { body: unknown }) => c.body,
      "PUT /api/alerts/demo/policies/p1-lifts": new Response(
        JSON.stringify({ title: "Bad Request", status: 400, detail: "unknown rota 'nope'" }),
        { status: 400, headers: { "Content-Type": "application/problem+json" } },
      ),
    });
    const view = mount(AlertsView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    await view.get(".add-contact").trigger("click");
    await flushPromises();
    const dialog = () => document.body.querySelector<HTMLElement>(".alert-dialog")!;
    const field = (name: string) => dialog().querySelector<HTMLInputElement>(`input[name="${name}"]`)!;
    field("id").value = "wang";
    field("id").dispatchEvent(new Event("input"));
    field("name").value = "Wang";
    field("name").dispatchEvent(new Event("input"));
    field("phone").value = "13800000009";
    field("phone").dispatchEvent(new Event("input"));
    dialog().querySelector<HTMLButtonElement>(".save")!.click();
    await flushPromises();
    const put = calls.find((c) => c.method === "PUT");
    expect(put?.path).toBe("/api/alerts/demo/contacts/wang");
    expect(put?.body).toMatchObject({ id: "wang", name: "Wang", phone: "13800000009", language: "zh-CN", active: true });

    await view.get(".edit-policy").trigger("click");
    await flushPromises();
    dialog().querySelector<HTMLButtonElement>(".save")!.click();
    await flushPromises();
    const policyPut = calls.find((c) => c.path === "/api/alerts/demo/policies/p1-lifts");
    expect(policyPut?.body).toMatchObject({ id: "p1-lifts", quiet_hours: { start: "22:00", end: "07:00" }, channels: ["ding", "sms"] });
    expect(document.body.textContent).toContain("unknown rota 'nope'");
  }, SLOW);

  it("never shows a channel's secrets, and sends only what was typed", async () => {
    const h = harness("en");
    await signIn(h, ["supervisor"]);
    const calls = siteApi({ "PUT /api/alerts/demo/channels/ding": (c: { body: unknown }) => c.body });
    const view = mount(AlertsView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    await view.get(".edit-channel").trigger("click");
    await flushPromises();
    const secret = document.body.querySelector<HTMLInputElement>('input[name="secret-access_token"]')!;
    expect(secret.value).toBe("");
    expect(secret.placeholder).toBe("set (leave empty to keep)");
    const signing = document.body.querySelector<HTMLInputElement>('input[name="secret-sign_secret"]')!;
    signing.value = "SEC-new";
    signing.dispatchEvent(new Event("input"));
    document.body.querySelector<HTMLButtonElement>(".alert-dialog .save")!.click();
    await flushPromises();
    const put = calls.find((c) => c.method === "PUT");
    expect(put?.body).toEqual({
      kind: "dingtalk",
      enabled: true,
      settings: { url: "https://oapi.dingtalk.com/robot/send" },
      secrets: { sign_secret: "SEC-new" },
    });
  }, SLOW);
});
