// The alarm console of a shift: texts and values as the server renders them, counts by
// priority, filters sent to the API, the detail with its history and work order, and
// out-of-service only for admins.
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { useCounts } from "@/stores/counts";
import { useSession } from "@/stores/session";
import AlarmsView from "@/views/AlarmsView.vue";
import { alarm } from "./fixtures";
import { harness, page, stubApi, type Harness } from "./helpers";

const SITES = page([{ id: "demo", name: "Demo", timezone: "Asia/Shanghai", language: "zh-CN", equipment_count: 2, buildings: [{ id: "B1", name: "一号楼" }] }]);
const TEXTED = alarm({ text: "P-01：轴承温度 96.5 °C，超过 85.0 °C", value_text: "96.5 °C", point_label: "轴承温度", acked_by: null, order_id: 7, technician: "li.wei" });

async function signIn(h: Harness, roles: string[]): Promise<void> {
  stubApi({ "GET /api/auth/me": { name: "duty", roles, sites: ["demo"], kind: "user" } });
  sessionStorage.setItem("bw-access", "A");
  await useSession(h.pinia).restore();
}

beforeEach(() => {
  sessionStorage.clear();
  vi.stubGlobal("matchMedia", (query: string) => ({ matches: false, media: query, addEventListener: vi.fn(), removeEventListener: vi.fn() }));
});
afterEach(() => vi.unstubAllGlobals());

describe("the alarm console", () => {
  it("shows the server's text, the value with its unit, who is on it, and counts by priority", async () => {
    const h = harness("zh-CN");
    await signIn(h, ["engineer"]);
    const calls = stubApi({ "GET /api/alarms": page([TEXTED]), "GET /api/work-orders": page([]), "GET /api/sites": SITES, "GET /api/points": {} });
    useCounts().counts = { total: 3, by_priority: { "1": 1, "2": 2, "3": 0, "4": 0 }, by_state: {}, unacknowledged: { "1": 1, "2": 0, "3": 0, "4": 0 } };
    const view = mount(AlarmsView, { global: { plugins: h.plugins } });
    await flushPromises();
    const row = view.get("#alarms");
    expect(row.text()).toContain("P-01：轴承温度 96.5 °C，超过 85.0 °C");
    expect(row.get(".alarm-value").text()).toBe("96.5 °C");
    expect(row.text()).toContain("#7 li.wei");
    expect(row.text()).toMatch(/GMT\+8/); // the site's clock, zone shown
    const banner = view.get("#priority-banner");
    expect(banner.get("[data-priority='1']").attributes("data-waiting")).toBe("1");
    expect(banner.get("[data-priority='1']").text()).toContain("1 条未确认");
    expect(banner.get("[data-priority='2']").classes()).not.toContain("waiting");
    expect(calls.find((c) => c.path === "/api/alarms")?.query.get("open")).toBe("true");
    view.unmount();
  });

  it("filters by priority from the banner and searches through the API", async () => {
    const h = harness("en");
    await signIn(h, ["engineer"]);
    const calls = stubApi({ "GET /api/alarms": page([]), "GET /api/work-orders": page([]), "GET /api/sites": SITES, "GET /api/points": {} });
    const view = mount(AlarmsView, { global: { plugins: h.plugins } });
    await flushPromises();
    await view.get("[data-priority='2'] button").trigger("click");
    await view.get("[data-priority='1'] button").trigger("click");
    await view.get(".alarm-search input").setValue("P-01");
    await new Promise((resolve) => setTimeout(resolve, 600)); // the search waits for typing to stop
    await flushPromises();
    const last = calls.filter((c) => c.path === "/api/alarms").at(-1)!;
    expect(last.query.getAll("priority")).toEqual(["1", "2"]);
    expect(last.query.get("q")).toBe("P-01");
    expect(view.get("[data-priority='1'] button").attributes("aria-pressed")).toBe("true");
    await view.get("[data-priority='1'] button").trigger("click");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls.filter((c) => c.path === "/api/alarms").at(-1)!.query.getAll("priority")).toEqual(["2"]);
    view.unmount();
  });

  it("opens the detail with the whole history and the work order; out of service is an admin's", async () => {
    const h = harness("en");
    await signIn(h, ["admin"]);
    stubApi({
      "GET /api/alarms": page([TEXTED]),
      "GET /api/work-orders": page([]),
      "GET /api/sites": SITES,
      "GET /api/points": {},
      "GET /api/alarms/a1": { ...TEXTED, events: [], work_order: { id: 7, status: "assigned", assigned_to: "li.wei", title_text: "PUMP_BEARING_TEMP: pump P-01" } },
      "GET /api/alarms/a1/history": page([
        { at: "2026-03-02T06:00:00Z", kind: "transition", transition: "activate", state: "active_unack", actor: null, text: null },
        { at: "2026-03-02T06:01:00Z", kind: "transition", transition: "acknowledge", state: "active_ack", actor: "duty", text: "on my way" },
        { at: "2026-03-02T06:02:00Z", kind: "comment", transition: null, state: null, actor: "duty", text: "bearing noisy" },
        { at: "2026-03-02T06:03:00Z", kind: "transition", transition: "shelve", state: "shelved", actor: "duty", text: "sensor checked" },
      ]),
    });
    const view = mount(AlarmsView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    await view.get(".alarm-text").trigger("click"); // the text opens the detail
    await flushPromises();
    await flushPromises();
    const drawer = document.body.querySelector<HTMLElement>(".alarm-detail")!;
    const history = drawer.querySelector("#alarm-history")!.textContent ?? "";
    for (const text of ["raised", "acknowledged", "duty", "on my way", "Comment", "bearing noisy", "shelved", "sensor checked"]) {
      expect(history).toContain(text);
    }
    expect(drawer.querySelector(".detail-order")?.textContent).toContain("technician li.wei");
    expect(drawer.querySelector(".act-oos")).not.toBeNull();
    view.unmount();
  });
});
