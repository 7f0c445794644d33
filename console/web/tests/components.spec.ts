// Components in the DOM: the header's language and mute buttons, the alarm console with its
// acknowledge dialog, and the technician's view.
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import AppHeader from "@/components/AppHeader.vue";
import { useSession } from "@/stores/session";
import { usePrefs } from "@/stores/prefs";
import AlarmsView from "@/views/AlarmsView.vue";
import MyWorkView from "@/views/MyWorkView.vue";
import { alarm, order } from "./fixtures";
import { harness, page, stubApi, type Harness } from "./helpers";

const ME = { name: "li.wei", roles: ["engineer", "technician"], sites: ["demo"], kind: "user" };

async function signIn(h: Harness): Promise<void> {
  stubApi({ "GET /api/auth/me": ME });
  sessionStorage.setItem("bw-access", "A");
  await useSession(h.pinia).restore();
}

beforeEach(() => {
  localStorage.clear();
  sessionStorage.clear();
  vi.stubGlobal("matchMedia", (query: string) => ({ matches: false, media: query, addEventListener: vi.fn(), removeEventListener: vi.fn() }));
});
afterEach(() => vi.unstubAllGlobals());

describe("the header", () => {
  it("names both languages in their own script and switches", async () => {
    const h = harness("zh-CN");
    await signIn(h);
    const header = mount(AppHeader, { global: { plugins: h.plugins } });
    const lang = header.get("#lang");
    expect(lang.text()).toContain("EN");
    expect(lang.text()).toContain("中文");
    expect(lang.get(".lang-current").text()).toBe("中文");
    expect(header.get("nav").text()).toContain("报警");
    await lang.trigger("click");
    expect(usePrefs().locale).toBe("en");
    expect(localStorage.getItem("bw-lang")).toBe("en");
    expect(lang.get(".lang-current").text()).toBe("EN");
  });

  it("shows and keeps the mute state", async () => {
    const h = harness("en");
    const header = mount(AppHeader, { global: { plugins: h.plugins } });
    const mute = header.get("#mute");
    expect(mute.attributes("aria-pressed")).toBe("false");
    await mute.trigger("click");
    expect(mute.attributes("aria-pressed")).toBe("true");
    expect(mute.text()).toBe("Unmute");
    expect(header.find("nav").exists()).toBe(false); // signed out: no navigation
  });
});

describe("the alarm console", () => {
  it("lists open alarms in the UI language and acknowledges one with a comment", async () => {
    const h = harness("zh-CN");
    await signIn(h);
    const calls = stubApi({
      "GET /api/alarms": page([alarm(), alarm({ id: "a2", priority: 1, severity: "critical", equipment: "E-01", state: "active_ack" })]),
      "GET /api/work-orders": page([order()]),
      "POST /api/alarms/a1/acknowledge": alarm({ state: "active_ack" }),
    });
    const view = mount(AlarmsView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    const keys = view.findAll(".alarm-key");
    expect(keys.map((k) => k.attributes("data-equipment"))).toEqual(["E-01", "P-01"]); // P1 first
    expect(view.get("#alarms").text()).toContain("报警未确认");
    expect(view.get("#alarms").text()).toContain("96.50");
    expect(view.get("#state-counts").text()).toContain("报警已确认: 1");
    expect(view.findAll(".act-ack")).toHaveLength(1); // only the unacknowledged one

    await view.get(".act-ack").trigger("click");
    await flushPromises();
    const dialog = document.body.querySelector<HTMLElement>(".alarm-dialog")!;
    expect(dialog.textContent).toContain("确认报警");
    const text = dialog.querySelector<HTMLTextAreaElement>("textarea")!;
    text.value = "到现场查看";
    text.dispatchEvent(new Event("input"));
    dialog.querySelector<HTMLButtonElement>(".dialog-confirm")!.click();
    await flushPromises();
    const ack = calls.find((c) => c.path === "/api/alarms/a1/acknowledge");
    expect(ack?.body).toEqual({ comment: "到现场查看" });
    view.unmount();
  });

  it("asks for a reason before shelving", async () => {
    const h = harness("en");
    await signIn(h);
    const calls = stubApi({ "GET /api/alarms": page([alarm()]), "GET /api/work-orders": page([]) });
    const view = mount(AlarmsView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    await view.get(".act-shelve").trigger("click");
    await flushPromises();
    const dialog = [...document.body.querySelectorAll<HTMLElement>(".alarm-dialog")].at(-1)!;
    dialog.querySelector<HTMLButtonElement>(".dialog-confirm")!.click();
    await flushPromises();
    await new Promise((resolve) => setTimeout(resolve, 150)); // Element Plus shows errors debounced
    expect(dialog.textContent).toContain("Give the reason for shelving");
    expect(calls.some((c) => c.path.endsWith("/shelve"))).toBe(false);
    view.unmount();
  });
});

describe("my work", () => {
  it("offers accept on open orders and resolve on mine, and sends the booked work", async () => {
    const h = harness("en");
    await signIn(h);
    const calls = stubApi({
      "GET /api/work-orders": (c: { query: URLSearchParams }) =>
        c.query.get("assigned_to") === "me" ? page([order({ id: 8, status: "in_progress", assigned_to: "li.wei" })]) : page([order()]),
      "POST /api/work-orders/8/transition": order({ id: 8, status: "resolved", assigned_to: "li.wei" }),
    });
    const view = mount(MyWorkView, { global: { plugins: h.plugins } });
    await flushPromises();
    const mine = view.get("#my-orders");
    expect(view.get("#open-orders").find(".act-assigned").text()).toBe("Accept");
    expect(view.get("#open-orders").find(".act-cancelled").exists()).toBe(false);
    expect(mine.findAll("button").map((b) => b.text())).toEqual(["Hold", "Resolve"]);
    await mine.get("input[name=parts]").setValue("6205-2RS, seal");
    await mine.get("input[name=note]").setValue("bearing replaced");
    await mine.get(".act-resolved").trigger("click");
    await flushPromises();
    const move = calls.find((c) => c.path === "/api/work-orders/8/transition");
    expect(move?.body).toEqual({
      to: "resolved",
      note: "bearing replaced",
      parts: [
        { part_no: "6205-2RS", quantity: 1 },
        { part_no: "seal", quantity: 1 },
      ],
    });
  });

  it("shows the stage reason in the reader's language, English when the order has no other", async () => {
    for (const [locale, expected] of [["zh-CN", "寿命后期：已安装 13 年"], ["en", "late life: 13 years since install"]] as const) {
      const h = harness(locale);
      await signIn(h);
      const legacy = order({ id: 9, stage_reason: "mid life: scored before texts", stage_reason_text: {} });
      stubApi({ "GET /api/work-orders": page([order(), legacy]) });
      const view = mount(MyWorkView, { global: { plugins: h.plugins } });
      await flushPromises();
      const [current, old] = view.get("#open-orders").findAll(".order-card").map((c) => c.text());
      expect(current).toContain(expected);
      expect(old).toContain("mid life: scored before texts");
      view.unmount();
    }
  });
});
