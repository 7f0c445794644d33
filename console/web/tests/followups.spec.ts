// The follow-ups the desk owes (review 18d L3, L5, L8): nothing is pre-filled, so recording
// needs an explicit outcome and score; the times are the shared format with the zone; the
// list is paged.
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import FollowUpsDue from "@/components/FollowUpsDue.vue";
import { harness, stubApi } from "./helpers";

function due(id: number) {
  return {
    order_id: id,
    site: "demo",
    equipment: "P-01",
    kind: "request",
    priority: 3,
    title: `R-${id} 漏水`,
    resolved_at: "2026-03-31T17:30:00Z",
    resolved_local: "2026-04-01 01:30 GMT+08:00",
    due_at: "2026-04-03T17:30:00Z",
    due_local: "2026-04-04 01:30 GMT+08:00",
    age_h: 3,
    overdue: false,
    callers: [],
  };
}

beforeEach(() => {
  vi.stubGlobal("matchMedia", (query: string) => ({ matches: false, media: query, addEventListener: vi.fn(), removeEventListener: vi.fn() }));
});
afterEach(() => vi.unstubAllGlobals());

describe("the follow-ups due", () => {
  it("records nothing until the outcome and the score are chosen, and pages the list", async () => {
    const h = harness("zh-CN");
    const calls = stubApi({
      "GET /api/service-desk/follow-ups": (c: { query: URLSearchParams }) => {
        const offset = Number(c.query.get("offset") ?? 0);
        // a short first page: each row mounts a select and a rate (20 of them took 12-35 s
        // under load); the pager follows `total`, not how many rows came
        const items = Array.from({ length: offset ? 5 : 3 }, (_, i) => due(offset + i + 1));
        return { items, total: 25, limit: 20, offset };
      },
    });
    const view = mount(FollowUpsDue, { props: { site: "demo", stamp: 0 }, global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    expect(view.findAll("article")).toHaveLength(3);
    const first = view.get("article");
    expect(first.text()).toContain("修复于");
    expect(first.text()).not.toContain("满意"); // no placeholder that reads as a choice
    expect(first.get(".outcome").text()).toContain("请选择回访结果");
    const record = first.get("button.record");
    expect(record.attributes("disabled")).toBeDefined();
    await record.trigger("click");
    await flushPromises();
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);

    await view.get(".follow-up-pages .btn-next").trigger("click");
    await flushPromises();
    const last = calls.filter((c) => c.path === "/api/service-desk/follow-ups").at(-1)!;
    expect(last.query.get("offset")).toBe("20");
    expect(view.findAll("article")).toHaveLength(5);
    view.unmount();
  });
});
