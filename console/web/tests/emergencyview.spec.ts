// The emergency page (review 19c-d): a drill held late shows when it was held and its
// follow-up actions; a step pressed without signal says so in the page's language.
import { flushPromises, mount } from "@vue/test-utils";
import { describe, expect, it, vi } from "vitest";

import { useSession } from "@/stores/session";
import EmergencyView from "@/views/EmergencyView.vue";

import { harness, page, stubApi } from "./helpers";

const STEP = { text: "报警", target_min: 0, at: null, minutes: null, over: false };
const DRILL = {
  id: 14, plan_id: 2, site: "demo", kind: "fire", status: "recorded", scheduled_at: "2026-06-01T02:00:00Z", timezone: "Asia/Shanghai",
  overdue: false, plan_version: 1, steps: [{ ...STEP, at: "2026-12-07T05:53:00Z", minutes: 0 }], participants: ["Li"], findings: "对讲声音小\n二号梯", actions: ["修对讲"],
  note: "", recorded_at: "2026-12-07T06:20:00Z", held_at: "2026-12-07T05:53:00Z", updated_by: "sup",
};
const TODAY = { ...DRILL, id: 24, status: "scheduled", scheduled_at: new Date(Date.now() - 60_000).toISOString(), steps: [STEP], findings: "", actions: [], participants: [], recorded_at: null, held_at: null };

describe("the emergency page", () => {
  it("shows when a drill was held, its actions, and no connection in zh-CN (review 19c-d H1, M3, M9)", async () => {
    const h = harness("zh-CN");
    stubApi({
      "GET /api/sites": page([{ id: "demo", name: "Demo", timezone: "Asia/Shanghai" }]),
      "GET /api/emergency/plans": [],
      "GET /api/drills": [TODAY, DRILL],
      "GET /api/entrapments": [],
    });
    useSession().me = { name: "tech", roles: ["technician"], sites: ["demo"], kind: "user" };
    const view = mount(EmergencyView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    const held = view.get('[data-drill="14"]');
    expect(held.get(".drill-held").text()).toMatch(/^实际举行：(2026\D)?12\D07 13:53 GMT\+8$/);
    expect(held.get(".drill-actions").text()).toBe("修对讲");
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    await view.get('[data-drill="24"] .step-now-1').trigger("click");
    await flushPromises();
    expect(document.body.textContent).toContain("无法连接服务器");
    expect(document.body.textContent).not.toContain("Failed to fetch");
    view.unmount();
  });
});

describe("re-timing a drill step (review 19e M4)", () => {
  it("offers re-time on a timed step, takes the time on the site's clock and the reason, and sends both", async () => {
    const h = harness("en");
    const timed = { ...TODAY, steps: [{ ...STEP, at: "2026-12-07T05:53:20Z", minutes: 0 }] };
    const calls = stubApi({
      "GET /api/sites": page([{ id: "demo", name: "Demo", timezone: "Asia/Shanghai" }]),
      "GET /api/emergency/plans": [],
      "GET /api/drills": [timed],
      "GET /api/entrapments": [],
      "POST /api/drills/24/steps/1": timed,
    });
    useSession().me = { name: "tech", roles: ["technician"], sites: ["demo"], kind: "user" };
    const view = mount(EmergencyView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    const card = view.get('[data-drill="24"]');
    expect(card.findAll(".step-now-1")).toHaveLength(0);
    await card.get(".step-retime-1").trigger("click");
    await flushPromises();
    const form = card.get("form.step-retime");
    expect(form.text()).toContain("When step 1 was really reached (Asia/Shanghai)");
    const vm = view.vm as unknown as { stepFix: { when: string; reason: string } };
    expect(vm.stepFix.when).toBe("2026-12-07 13:53"); // the held time first, on the site's clock
    await form.trigger("submit"); // no reason: nothing sent
    await flushPromises();
    expect(calls.find((c) => c.path === "/api/drills/24/steps/1")).toBeUndefined();
    vm.stepFix.when = "2026-12-07 13:50";
    await form.get("input[name=retime_why]").setValue("手机点晚了");
    await form.trigger("submit");
    await flushPromises();
    const sent = calls.find((c) => c.path === "/api/drills/24/steps/1");
    expect(sent?.body).toEqual({ reason: "手机点晚了", at: "2026-12-07T05:50:00.000Z" });
    view.unmount();
  });

  it("asks the supervisor's record form for the reason when it changes a phone's time", async () => {
    const h = harness("en");
    const timed = { ...TODAY, steps: [{ ...STEP, at: "2026-12-07T05:53:20Z", minutes: 0 }] };
    const calls = stubApi({
      "GET /api/sites": page([{ id: "demo", name: "Demo", timezone: "Asia/Shanghai" }]),
      "GET /api/emergency/plans": [],
      "GET /api/drills": [timed],
      "GET /api/entrapments": [],
      "POST /api/drills/24/record": { ...timed, status: "recorded" },
      "GET /api/equipment": page([]),
    });
    useSession().me = { name: "sup", roles: ["supervisor"], sites: ["demo"], kind: "user" };
    const view = mount(EmergencyView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    const vm = view.vm as unknown as { held: { drill: number | null } };
    vm.held.drill = 24;
    await flushPromises();
    const form = view.get("#drill-record");
    expect((form.get("input[name=step_1]").element as HTMLInputElement).value).toBe("2026-12-07 13:53");
    expect(form.findAll("input[name=retime_reason]")).toHaveLength(0); // the phone's time kept
    await form.get("input[name=step_1]").setValue("2026-12-07 13:50");
    await form.get("input[name=participants]").setValue("Li");
    expect(form.findAll("input[name=retime_reason]")).toHaveLength(1);
    await form.trigger("submit");
    await flushPromises();
    expect(calls.some((c) => c.path === "/api/drills/24/record")).toBe(false); // no reason: nothing sent
    await form.get("input[name=retime_reason]").setValue("按录像更正");
    await form.trigger("submit");
    await flushPromises();
    const sent = calls.find((c) => c.path === "/api/drills/24/record");
    expect(sent?.body).toMatchObject({ reason: "按录像更正", step_times: ["2026-12-07T05:50:00.000Z"] });
    view.unmount();
  });
});
