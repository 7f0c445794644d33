// The supervisor's rounds page (review 19r L1, L2, L7, L9): a round's past runs and a run's
// entries beside the live value, editing a template (PUT, not a new one), removing an added
// item, the classes of the site's equipment, and today's due times without a dangling "·".
import { flushPromises, mount } from "@vue/test-utils";
import { describe, expect, it, vi } from "vitest";

import { roundsOwner } from "@/rounds";
import { useSession } from "@/stores/session";
import RoundsView from "@/views/RoundsView.vue";

import { harness, page, stubApi } from "./helpers";

const ITEM = { key: "l1", kind: "reading", label: "L1 电流", unit: "A", low: 0, high: 80, options: [], bad_options: [], point: "current_l1_a", tolerance: 5 };
const ROUND = {
  id: 1, site: "demo", name: "强电井巡检", times: ["08:00", "20:00"], timezone: "Asia/Shanghai", repeat: "daily", weekdays: [], month_days: [], assignee: null, team: null, late_after_min: 60, missed_after_min: 240, active: true,
  stops: [{ equipment: "SP-01", template_id: 3, name: "1号强电井", location: "B1" }],
  today: [
    { due_at: "2026-03-02T00:00:00Z", state: "open", run_id: null, done_at: null },
    { due_at: "2026-03-02T12:00:00Z", state: "upcoming", run_id: null, done_at: null },
  ],
  counts: { on_time: 1, late: 0, missed: 1, open: 1, upcoming: 1 }, days: 7,
};
const ENTRY = { id: "e1", stop: 0, item: "l1", value: 30, ok: true, recorded_at: "2026-03-01T12:05:00Z", received_at: "2026-03-01T12:06:00Z", by: "tech", live_value: 42, live_at: "2026-03-01T12:04:00Z", disagrees: true, work_order_id: null };
const PHOTO_ID = "6f1d3c2e-8a4b-4f51-9d57-0c2b8f1e7a10";
const PHOTO_ITEM = {
  ...ITEM, key: "pic", kind: "photo", label: "柜内照片", unit: null, low: null, high: null, point: null, tolerance: null, live_value: null, live_at: null,
  entry: { ...ENTRY, id: "e2", item: "pic", value: PHOTO_ID, live_value: null, live_at: null, disagrees: null },
};
const RUN = {
  id: 9, round_id: 1, round_name: "强电井巡检", site: "demo", timezone: "Asia/Shanghai", due_at: "2026-03-01T12:00:00Z", started_at: "2026-03-01T12:01:00Z", started_by: "tech", done_at: "2026-03-01T12:06:00Z", state: "on_time",
  stops: [{ index: 0, equipment: "SP-01", name: "1号强电井", location: "B1", scanned: true, items: [{ ...ITEM, live_value: null, live_at: null, entry: ENTRY }, PHOTO_ITEM] }],
};

describe("the rounds page", () => {
  it("shows a run's entries, edits a template and names classes from the equipment", async () => {
    const h = harness("zh-CN");
    URL.createObjectURL = vi.fn(() => "blob:photo");
    URL.revokeObjectURL = vi.fn();
    const calls = stubApi({
      "GET /api/sites": page([{ id: "demo", name: "Demo", timezone: "Asia/Shanghai" }]),
      "GET /api/rounds": [ROUND],
      "GET /api/checklist-templates": [{ id: 3, site: "demo", name: "强电井", equipment_type: "shaft_panel", location: null, items: [ITEM], updated_at: "2026-03-01T00:00:00Z", updated_by: "sup" }],
      "GET /api/equipment": page([{ id: "SP-01", type: "shaft_panel", name: "1号强电井" }, { id: "CH-01", type: "chiller", name: "冷机" }]),
      "GET /api/rounds/1/history": [{ due_at: "2026-03-01T12:00:00Z", state: "on_time", run_id: 9, done_at: "2026-03-01T12:06:00Z", entries: 1, faults: 0, disagreements: 1 }],
      "GET /api/round-runs/9": RUN,
      [`GET /api/round-runs/9/photos/${PHOTO_ID}`]: new Response(new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: "image/jpeg" })),
      "PUT /api/checklist-templates/3": (c: { body: unknown }) => ({ id: 3, ...(c.body as object) }),
    });
    useSession().me = { name: "sup", roles: ["supervisor"], sites: null, kind: "user" };
    const view = mount(RoundsView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    const due = view.find(".round-card p:nth-of-type(2)").text();
    expect(due).toContain("待巡检");
    expect(due.trim().endsWith("·")).toBe(false);

    await view.find(".round-history").trigger("click");
    await flushPromises();
    expect(document.body.textContent).toContain("与在线值不符 1 项");
    (document.querySelector(".open-run") as HTMLElement).click();
    await flushPromises();
    const entry = document.querySelector(".run-entry")!.textContent;
    expect(entry).toContain("30 A");
    expect(entry).toContain("在线值 42 A");
    expect(document.querySelector(".disagrees")).not.toBeNull();
    // a photo item's entry shows its photo, fetched from the API (not its id as text)
    const thumb = document.querySelector<HTMLImageElement>('.run-entry[data-item="pic"] .round-photo-thumb');
    expect(thumb?.getAttribute("src")).toBe("blob:photo");
    expect(document.querySelector('.run-entry[data-item="pic"]')!.textContent).not.toContain(PHOTO_ID);
    expect(calls.some((c) => c.method === "GET" && c.path === `/api/round-runs/9/photos/${PHOTO_ID}`)).toBe(true);

    await view.find(".edit-template").trigger("click");
    await view.findAll("button").find((b) => b.text() === "添加检查项")!.trigger("click");
    expect(view.findAll(".item-draft")).toHaveLength(2);
    await view.findAll(".remove-item")[1]!.trigger("click");
    expect(view.findAll(".item-draft")).toHaveLength(1);
    await view.find("#template-form").trigger("submit");
    await flushPromises();
    const put = calls.find((c) => c.method === "PUT");
    expect(put?.path).toBe("/api/checklist-templates/3");
    expect((put?.body as { items: { key: string }[] }).items.map((i) => i.key)).toEqual(["l1"]);
    // the version edited goes with it: a save over someone else's later one is refused (review 19b-r M4)
    expect((put?.body as { seen_at: string }).seen_at).toBe("2026-03-01T00:00:00Z");
    expect(calls.some((c) => c.method === "POST")).toBe(false);
    view.unmount();
  });

  it("shows the list as last loaded when offline, with its time and what waits (review 19b-r M3)", async () => {
    const h = harness("zh-CN");
    localStorage.clear();
    roundsOwner("tech");
    useSession().me = { name: "tech", roles: ["technician"], sites: ["demo"], kind: "user" };
    stubApi({ "GET /api/sites": page([{ id: "demo", name: "Demo", timezone: "Asia/Shanghai" }]), "GET /api/rounds": [ROUND], "GET /api/checklist-templates": [] });
    mount(RoundsView, { global: { plugins: h.plugins }, attachTo: document.body }).unmount();
    await flushPromises();
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const view = mount(RoundsView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    expect(view.get("#rounds-offline").text()).toMatch(/^离线：显示 .* 载入的巡检路线；0 条记录待同步。$/);
    expect(view.get(".round-card").text()).toContain(ROUND.name);
    expect(document.body.textContent).not.toContain("还没有巡检路线");
    view.unmount();
    roundsOwner(null);
  });

  it("brings the form into view and focuses it on Edit (review 19b-r L3)", async () => {
    const h = harness("en");
    stubApi({
      "GET /api/sites": page([{ id: "demo", name: "Demo", timezone: "Asia/Shanghai" }]),
      "GET /api/rounds": [ROUND],
      "GET /api/checklist-templates": [{ id: 3, site: "demo", name: "强电井", equipment_type: "shaft_panel", location: null, items: [ITEM], updated_at: "2026-03-01T00:00:00Z", updated_by: "sup" }],
      "GET /api/equipment": page([{ id: "SP-01", type: "shaft_panel", name: "1号强电井" }]),
    });
    useSession().me = { name: "sup", roles: ["supervisor"], sites: null, kind: "user" };
    const view = mount(RoundsView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    const scrolled: Element[] = [];
    Element.prototype.scrollIntoView = function (this: Element) {
      scrolled.push(this);
    };
    await view.find(".edit-template").trigger("click");
    await flushPromises();
    expect(scrolled.map((e) => e.id)).toEqual(["template-form-title"]);
    expect(document.activeElement).toBe(document.querySelector("#template-form input"));
    await view.find(".edit-round").trigger("click");
    await flushPromises();
    expect(scrolled.map((e) => e.id)).toEqual(["template-form-title", "round-form-title"]);
    expect(document.activeElement).toBe(document.querySelector("#round-form input"));
    expect((document.activeElement as HTMLInputElement).value).toBe(ROUND.name);
    view.unmount();
  });

  it("asks before voiding a past run's answer, and sends nothing when declined (review 19e L6)", async () => {
    const h = harness("en");
    const calls = stubApi({
      "GET /api/sites": page([{ id: "demo", name: "Demo", timezone: "Asia/Shanghai" }]),
      "GET /api/rounds": [ROUND],
      "GET /api/checklist-templates": [],
      "GET /api/equipment": page([]),
      "GET /api/rounds/1/history": [{ due_at: "2026-03-01T12:00:00Z", state: "on_time", run_id: 9, done_at: "2026-03-01T12:06:00Z", entries: 1, faults: 0, disagreements: 1 }],
      "GET /api/round-runs/9": { ...RUN, stops: [{ ...RUN.stops[0], items: [{ ...ITEM, live_value: null, live_at: null, entry: ENTRY }] }] },
      "PUT /api/round-runs/9/entries/e1": {},
    });
    useSession().me = { name: "sup", roles: ["supervisor"], sites: null, kind: "user" };
    const view = mount(RoundsView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    await view.find(".round-history").trigger("click");
    await flushPromises();
    (document.querySelector(".open-run") as HTMLElement).click();
    await flushPromises();
    (document.querySelector(".fix-entry") as HTMLElement).click();
    await flushPromises();
    const why = document.querySelector<HTMLInputElement>(".fix-reason input")!;
    why.value = "wrong cabinet";
    why.dispatchEvent(new Event("input"));
    await flushPromises();
    const answer = async (confirm: boolean): Promise<string> => {
      (document.querySelector(".fix-void") as HTMLElement).click();
      await flushPromises();
      const boxes = document.body.querySelectorAll(".el-message-box");
      const box = boxes[boxes.length - 1]!;
      const text = box.textContent ?? "";
      const buttons = box.querySelectorAll<HTMLButtonElement>(".el-message-box__btns button");
      buttons[confirm ? buttons.length - 1 : 0]!.click();
      await flushPromises();
      await new Promise((r) => setTimeout(r, 0));
      await flushPromises();
      return text;
    };
    expect(await answer(false)).toContain("Void the answer “30 A” to L1 电流?");
    expect(calls.some((c) => c.method === "PUT")).toBe(false);
    await answer(true);
    const put = calls.find((c) => c.method === "PUT");
    expect(put?.body).toEqual({ void: true, reason: "wrong cabinet" });
    view.unmount();
  });
});
