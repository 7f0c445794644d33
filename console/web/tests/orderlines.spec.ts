// The booked lines on the order page, desk and phone: a line awaiting approval offers approve
// and reject, never "Reverse" (review 19h L1); a counted line still offers "Reverse".
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { useSession } from "@/stores/session";
import WorkOrderView from "@/views/WorkOrderView.vue";
import { order } from "./fixtures";
import { FakeSocket, harness, stubApi, type Harness } from "./helpers";

const SUP = { name: "sup1", roles: ["supervisor"], sites: ["demo"], kind: "user" };
const AT = "2026-12-01T02:00:00Z";

async function signIn(h: Harness, me: object = SUP): Promise<void> {
  stubApi({ "GET /api/auth/me": me });
  sessionStorage.setItem("bw-access", "A");
  await useSession(h.pinia).restore();
}

const decided = { decided_by: null, decided_at: null, waits_because: null, reverses: null, late: false };
const labour = (id: number, approval: string | null) => ({ id, technician: "tech2", hours: 8, rate: 80, at: AT, note: "", actor: "sup1", approval, ...decided });
const charge = (id: number, approval: string | null, amount = 6000) => ({ id, contractor: "某电梯公司", amount, note: "", at: AT, actor: "tech2", approval, ...decided });
const part = (id: number, approval: string | null) => ({ id, part_no: "DR-ROLLER", description: "门机滚轮", quantity: 3, unit_cost: 68, unit: "pc", at: AT, actor: "tech2", approval, ...decided });

function detail(lines: { labour?: object[]; parts?: object[]; charges?: object[] }, over: Record<string, unknown> = {}) {
  return {
    ...order({ id: 10, status: "in_progress", assigned_to: "tech2", equipment: "E-01" }),
    description: "",
    source_alarm_id: null,
    updated_at: AT,
    stage_detail: {},
    resolved_at: null,
    closed_at: null,
    repair_class: null,
    root_cause: null,
    labour_hours: 8,
    cost: 0,
    events: [],
    labour: lines.labour ?? [],
    parts: lines.parts ?? [],
    record: { actions: [], description_text: "", assign_note: null, summary: null, repair_class: null, repair_class_text: null, cause_code: null, cause_text: null, root_cause: null, downtime_h: null, cost_by_category: {}, charges: lines.charges ?? [], ...over },
  };
}

function mountOrder(h: Harness, body: object) {
  stubApi({
    "GET /api/work-orders/10": body,
    "GET /api/work-orders/10/checklist": [],
    "GET /api/causes": [],
    "GET /api/parts": [],
    "GET /api/stores": [],
    "GET /api/work-orders/10/stock": [],
  });
  return mount(WorkOrderView, { props: { id: 10 }, global: { plugins: h.plugins }, attachTo: document.body });
}

let phone = false;
beforeEach(() => {
  localStorage.clear();
  sessionStorage.clear();
  vi.stubGlobal("WebSocket", FakeSocket);
  vi.stubGlobal("matchMedia", (query: string) => ({ matches: phone, media: query, addEventListener: vi.fn(), removeEventListener: vi.fn() }));
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = "";
});

describe.each([false, true])("booked lines (phone: %s)", (narrow) => {
  beforeEach(() => {
    phone = narrow;
  });

  it("offers no Reverse on a line awaiting approval or rejected, and Reverse on a counted one (review 19h L1)", async () => {
    const h = harness("zh-CN");
    await signIn(h);
    const view = mountOrder(h, detail({ labour: [labour(1, "pending")], parts: [part(1, "pending")], charges: [charge(1, "pending"), charge(2, "rejected"), charge(3, null, 400)] }));
    await flushPromises();
    const booked = view.get("#wo-booked");
    expect(booked.findAll(".spot-approve")).toHaveLength(3);
    const reverse = booked.findAll(".line-reverse, .part-reverse");
    expect(reverse).toHaveLength(1);
    expect(booked.text()).not.toContain("冲销记录");
    view.unmount();
  });
});
