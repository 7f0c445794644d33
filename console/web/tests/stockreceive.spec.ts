// Purchase lines received from the stock page: a quantity field per approved line, what is
// still to come unless changed (a supplier delivers part of it), sent after a confirmation that
// names part and quantity (review 19c-s M6); the order page on a closed order offers a
// supervisor only the return of leftovers, booked late (review 19c-s M7).
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import PurchaseRequests from "@/components/PurchaseRequests.vue";
import OrderBooking from "@/components/OrderBooking.vue";
import OrderStock from "@/components/OrderStock.vue";
import { harness, stubApi, type Call } from "./helpers";

const REQUEST = {
  id: 7,
  store_id: 1,
  status: "approved",
  status_name: "approved",
  amount: 680,
  approval_amount: 680,
  note: "",
  created_at: "2026-12-07T06:29:00Z",
  created_by: "sup1",
  decided_at: "2026-12-07T06:40:00Z",
  decided_by: "sup2",
  lines: [{ id: 3, part_no: "DR-ROLLER", name: "door roller", quantity: 10, unit_cost: 68, list_cost: 68, received: 0 }],
};
const PARTS = [{ part_no: "DR-ROLLER", name: "door roller", unit: "pc", unit_cost: 68, active: true, updated_at: "2026-12-01T00:00:00Z", updated_by: "admin" }];

async function answerBox(confirm: boolean): Promise<string> {
  await flushPromises();
  const boxes = document.body.querySelectorAll(".el-message-box");
  const box = boxes[boxes.length - 1]!;
  const text = box.textContent ?? "";
  const buttons = box.querySelectorAll<HTMLButtonElement>(".el-message-box__btns button");
  buttons[confirm ? buttons.length - 1 : 0]!.click();
  await flushPromises();
  return text;
}

beforeEach(() => {
  localStorage.clear();
  sessionStorage.clear();
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = "";
});

describe("receiving a purchase line", () => {
  function mountList(): { calls: Call[]; list: ReturnType<typeof mount> } {
    const h = harness("en");
    const calls = stubApi({
      "GET /api/stores/1/purchase-requests": { items: [REQUEST], next: null },
      "POST /api/stores/1/purchase-requests/7/receipts": REQUEST,
    });
    const props = { storeId: 1, site: "demo", reorderCount: 0, limitText: "5000", parts: PARTS };
    return { calls, list: mount(PurchaseRequests, { props, global: { plugins: h.plugins }, attachTo: document.body }) };
  }

  it("receives the six that arrived of ten, after saying so", async () => {
    const { calls, list } = mountList();
    await flushPromises();
    const field = list.find<HTMLInputElement>("input[name=receive_quantity_3]");
    expect(field.element.value).toBe("10");
    await field.setValue("6");
    await field.trigger("blur");
    await list.find(".receive-line").trigger("click");
    const asked = await answerBox(true);
    expect(asked).toContain("Receive 6 pc of DR-ROLLER");
    expect(asked).toContain("4 still to come");
    const sent = calls.filter((c) => c.method === "POST");
    expect(sent.map((c) => c.body)).toEqual([{ line_id: 3, quantity: 6 }]);
    list.unmount();
  });

  it("sends nothing when the confirmation is declined", async () => {
    const { calls, list } = mountList();
    await flushPromises();
    await list.find(".receive-line").trigger("click");
    expect(await answerBox(false)).toContain("Receive 10 pc of DR-ROLLER");
    expect(calls.filter((c) => c.method === "POST")).toEqual([]);
    list.unmount();
  });
});

describe("parts on a closed order", () => {
  it("offers a supervisor only the return, sent to the order", async () => {
    const h = harness("en");
    const calls = stubApi({
      "GET /api/stores": [{ id: 1, site: "demo", code: "B1-main", name: "B1 store" }],
      "GET /api/parts": PARTS,
      "GET /api/work-orders/2/stock": [],
      "POST /api/work-orders/2/stock": {},
    });
    const card = mount(OrderStock, { props: { orderId: 2, site: "demo", late: true }, global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    expect(card.findAll(".buttons button").map((b) => b.classes().find((c) => c.startsWith("stock-")))).toEqual(["stock-return"]);
    card.unmount();
    const open = mount(OrderStock, { props: { orderId: 2, site: "demo" }, global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    expect(open.findAll(".buttons button")).toHaveLength(4);
    open.unmount();
    expect(calls.some((c) => c.method === "POST")).toBe(false);
  });
});

describe("booking parts by hand", () => {
  it("says the card is for parts bought on the spot, the stock's are issued", async () => {
    const h = harness("zh-CN");
    stubApi({ "GET /api/parts": PARTS });
    const card = mount(OrderBooking, { props: { orderId: 2 }, global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    expect(card.find(".hand-parts-note").exists()).toBe(false);
    await card.find(".add-part").trigger("click");
    expect(card.find(".hand-parts-note").text()).toContain("现场采购");
    expect(card.find(".hand-parts-note").text()).toContain("领用备件");
    card.unmount();
  });
});

describe("an order's reservation the shelf cannot serve (review 19e L7)", () => {
  it("says so on the order's stock line, in zh-CN", async () => {
    const h = harness("zh-CN");
    stubApi({
      "GET /api/stores": [{ id: 1, site: "demo", code: "B1-main", name: "主库" }],
      "GET /api/parts": PARTS,
      "GET /api/work-orders/5/stock": [
        { store_id: 1, store: "主库", part_no: "CT-32A", name: "接触器", unit: "pc", reserved: 3, issued: 0, short: 3 },
        { store_id: 1, store: "主库", part_no: "DR-ROLLER", name: "door roller", unit: "pc", reserved: 1, issued: 0, short: 0 },
      ],
    });
    const card = mount(OrderStock, { props: { orderId: 5, site: "demo" }, global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    const tags = card.findAll(".held-short");
    expect(tags).toHaveLength(1);
    expect(tags[0]!.text()).toBe("库存不足，缺 3 pc：仓库无法全部发出");
    card.unmount();
  });
});
