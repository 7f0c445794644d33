// The booked lines on the order page, desk and phone: a line awaiting approval offers approve
// and reject, never "Reverse" (review 19h L1); a counted line still offers "Reverse"; labour
// and charges say why they wait, a rejection asks for a reason which the line then shows, and
// the header tells what awaits approval for each kind (review 19h L2 + L7).
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { useSession } from "@/stores/session";
import WorkOrderView from "@/views/WorkOrderView.vue";
import { order } from "./fixtures";
import { FakeSocket, harness, stubApi, type Call, type Harness } from "./helpers";

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

function mountOrder(h: Harness, body: object, more: Record<string, object> = {}): { view: ReturnType<typeof mount>; calls: Call[] } {
  const calls = stubApi({
    ...more,
    "GET /api/work-orders/10": body,
    "GET /api/work-orders/10/checklist": [],
    "GET /api/causes": [],
    "GET /api/parts": [],
    "GET /api/stores": [],
    "GET /api/work-orders/10/stock": [],
  });
  return { calls, view: mount(WorkOrderView, { props: { id: 10 }, global: { plugins: h.plugins }, attachTo: document.body }) };
}

async function answerPrompt(text: string): Promise<string> {
  await flushPromises();
  const boxes = document.body.querySelectorAll(".el-message-box");
  const box = boxes[boxes.length - 1]!;
  const input = box.querySelector<HTMLInputElement>("input")!;
  input.value = text;
  input.dispatchEvent(new Event("input"));
  await flushPromises();
  const buttons = box.querySelectorAll<HTMLButtonElement>(".el-message-box__btns button");
  buttons[buttons.length - 1]!.click();
  await flushPromises();
  return box.textContent ?? "";
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
    const { view } = mountOrder(h, detail({ labour: [labour(1, "pending")], parts: [part(1, "pending")], charges: [charge(1, "pending"), charge(2, "rejected"), charge(3, null, 400)] }));
    await flushPromises();
    const booked = view.get("#wo-booked");
    expect(booked.findAll(".spot-approve")).toHaveLength(3);
    const reverse = booked.findAll(".line-reverse, .part-reverse");
    expect(reverse).toHaveLength(1);
    expect(booked.text()).not.toContain("冲销记录");
    view.unmount();
  });

  it("says why labour and charges wait, what awaits per kind, and why a line was rejected (review 19h L2 + L7)", async () => {
    const h = harness("en");
    await signIn(h);
    const why = "beyond its booker's authority for the day";
    const body = detail(
      { labour: [{ ...labour(1, "pending"), waits_because: why }], charges: [{ ...charge(1, "pending"), waits_because: why }, { ...charge(2, "rejected"), decided_by: "sup1", decided_at: AT, decided_reason: "合同内免费" }] },
      { awaiting: { labour: 640, parts: 0, contractors: 6000 } },
    );
    const { view } = mountOrder(h, body);
    await flushPromises();
    const booked = view.get("#wo-booked");
    expect(booked.findAll(".spot-why").map((w) => w.text())).toEqual([why, why]);
    expect(booked.get(".spot-rejected-why").text()).toBe("Rejected because: 合同内免费");
    expect(booked.text()).toContain("Labour: tech2 8 h × 80.00/h");
    expect(view.get(".labour-awaiting").text()).toContain("labour awaiting approval ¥640.00");
    expect(view.get(".contractors-awaiting").text()).toContain("contractor charges awaiting approval ¥6,000.00");
    view.unmount();
  });

  it("asks for the reason of a rejection and sends it", async () => {
    const h = harness("zh-CN");
    await signIn(h);
    const body = detail({ charges: [charge(1, "pending")] });
    const { view, calls } = mountOrder(h, body, { "POST /api/work-orders/10/charges/1/approval": body });
    await flushPromises();
    await view.get("#wo-booked .spot-reject").trigger("click");
    expect(await answerPrompt("   ")).toContain("驳回原因");
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0); // no reason: nothing sent
    await answerPrompt("合同内免费");
    expect(calls.filter((c) => c.method === "POST").map((c) => c.body)).toEqual([{ approve: false, reason: "合同内免费" }]);
    view.unmount();
  });

  it("groups money by the reader's locale with ¥ and 2 decimals (review 19h L4)", async () => {
    for (const [lang, cost] of [["en", "¥3,827,996.48"], ["zh-CN", "¥3,827,996.48"]] as const) {
      const h = harness(lang);
      await signIn(h);
      const body = { ...detail({ charges: [charge(1, null, 123456.78)] }, { cost_by_category: { labour: 836.03, parts: 3703703.67, contractors: 123456.78 } }), cost: 3827996.48 };
      const { view } = mountOrder(h, body);
      await flushPromises();
      expect(view.get("#wo-cost").text()).toBe(cost);
      expect(view.get("#wo-cost").element.parentElement?.textContent).toContain("¥3,703,703.67");
      expect(view.get("#wo-booked").text()).toContain("¥123,456.78");
      view.unmount();
    }
  });
});
