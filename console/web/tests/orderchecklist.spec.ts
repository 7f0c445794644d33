// The order page's resolve form with a preventive order's checklist: the items left open are
// listed, resolving needs a reason for them and sends it; once resolved nothing can be ticked
// (review 19c-r M4).
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { useSession } from "@/stores/session";
import WorkOrderView from "@/views/WorkOrderView.vue";
import { order } from "./fixtures";
import { FakeSocket, harness, stubApi, type Call, type Harness } from "./helpers";

const ME = { name: "li.wei", roles: ["technician"], sites: ["demo"], kind: "user" };

async function signIn(h: Harness): Promise<void> {
  stubApi({ "GET /api/auth/me": ME });
  sessionStorage.setItem("bw-access", "A");
  await useSession(h.pinia).restore();
}

function detail(status: string, actions: string[]) {
  return {
    ...order({ id: 3, kind: "preventive", status, assigned_to: "li.wei", equipment: "E-01" }),
    description: "",
    source_alarm_id: null,
    updated_at: "2026-12-01T00:00:00Z",
    stage_detail: {},
    resolved_at: status === "resolved" ? "2026-12-02T00:00:00Z" : null,
    closed_at: null,
    repair_class: null,
    root_cause: null,
    labour_hours: 0,
    cost: 0,
    events: [],
    labour: [],
    parts: [],
    record: { actions, description_text: "", assign_note: null, summary: null, repair_class: null, repair_class_text: null, cause_code: null, cause_text: null, root_cause: null, downtime_h: null, cost_by_category: {} },
  };
}

const LINES = [
  { idx: 0, text: "机房清洁", done_at: "2026-12-01T02:00:00Z", done_by: "li.wei" },
  { idx: 1, text: "制动器检查", done_at: null, done_by: null },
  { idx: 2, text: "门锁检查", done_at: null, done_by: null },
];

async function confirmBox(): Promise<string> {
  await flushPromises();
  const boxes = document.body.querySelectorAll(".el-message-box");
  const box = boxes[boxes.length - 1]!;
  const text = box.textContent ?? "";
  const buttons = box.querySelectorAll<HTMLButtonElement>(".el-message-box__btns button");
  buttons[buttons.length - 1]!.click();
  await flushPromises();
  return text;
}

beforeEach(() => {
  localStorage.clear();
  sessionStorage.clear();
  vi.stubGlobal("WebSocket", FakeSocket);
  vi.stubGlobal("matchMedia", (query: string) => ({ matches: false, media: query, addEventListener: vi.fn(), removeEventListener: vi.fn() }));
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = "";
});

describe("resolving a preventive order", () => {
  it("lists the items not ticked and needs and sends a reason for them", async () => {
    const h = harness("en");
    await signIn(h);
    const calls: Call[] = stubApi({
      "GET /api/work-orders/3": detail("in_progress", ["complete", "resolve"]),
      "GET /api/work-orders/3/checklist": LINES,
      "GET /api/causes": [],
      "GET /api/parts": [],
      "GET /api/stores": [],
      "GET /api/work-orders/3/stock": [],
      "POST /api/work-orders/3/resolve": detail("resolved", []),
    });
    const view = mount(WorkOrderView, { props: { id: 3 }, global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    const form = view.get("#resolve-form");
    expect(form.get(".open-items").text()).toContain("2 checklist item(s) not ticked");
    expect(form.findAll(".open-items li").map((li) => li.text())).toEqual(["2. 制动器检查", "3. 门锁检查"]);
    await form.get("textarea[name=summary]").setValue("done");
    await form.get("form").trigger("submit");
    await flushPromises();
    expect(calls.some((c) => c.path.endsWith("/resolve"))).toBe(false); // no reason: nothing sent
    await form.get("textarea[name=open_items_reason]").setValue("lock part not in stock");
    await form.get("form").trigger("submit");
    expect(await confirmBox()).toContain("2 checklist item(s) not ticked");
    const sent = calls.find((c) => c.path === "/api/work-orders/3/resolve");
    expect(sent?.body).toEqual({ summary: "done", completion: null, open_items_reason: "lock part not in stock" });
    view.unmount();
  });

  it("ticks nothing once the order is resolved", async () => {
    const h = harness("en");
    await signIn(h);
    stubApi({
      "GET /api/work-orders/3": detail("resolved", ["complete"]),
      "GET /api/work-orders/3/checklist": LINES,
      "GET /api/causes": [],
      "GET /api/parts": [],
      "GET /api/stores": [],
      "GET /api/work-orders/3/stock": [],
    });
    const view = mount(WorkOrderView, { props: { id: 3 }, global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    // the recorded item shows its result without "Undo"; the others cannot be recorded
    const lines = view.findAll("#order-checklist .check-line");
    expect(lines).toHaveLength(3);
    expect(lines[0]?.text()).toContain("Pass");
    expect(view.findAll("#order-checklist .check-undo, #order-checklist .check-results button")).toHaveLength(0);
    expect(lines[1]?.text()).toContain("Not recorded");
    view.unmount();
  });

  it("counts done and total over the same lines: withdrawn items on neither side (review 19e M2)", async () => {
    const h = harness("en");
    await signIn(h);
    const gone = { done_at: "2026-12-01T02:00:00Z", done_by: "tech2", note: "已处理", withdrawn_at: "2026-12-01T03:00:00Z", withdrawn_by: "sup1", withdrawn_reason: "读数输错" };
    stubApi({
      "GET /api/work-orders/3": detail("resolved", ["complete"]),
      "GET /api/work-orders/3/checklist": [
        { idx: 0, text: "门 = 不合格", ...gone },
        { idx: 1, text: "L1 = 95 A", ...gone },
        { idx: 2, text: "门锁检查", done_at: null, done_by: null, withdrawn_at: "2026-12-01T03:00:00Z", withdrawn_by: "sup1", withdrawn_reason: "作废" },
      ],
      "GET /api/causes": [],
      "GET /api/parts": [],
      "GET /api/stores": [],
      "GET /api/work-orders/3/stock": [],
    });
    const view = mount(WorkOrderView, { props: { id: 3 }, global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    expect(view.get("#order-checklist .card-title small").text()).toBe("0 of 0 items done");
    // the tick given before the withdrawal stays shown beside it
    const first = view.findAll("#order-checklist .check-line")[0]!;
    expect(first.text()).toContain("Withdrawn");
    expect(first.get(".check-ticked-before").text()).toContain("tech2");
    expect(first.get(".check-ticked-before").text()).toContain("已处理");
    view.unmount();
  });
});
