// The list of lines awaiting approval mixes parts, labour and charges, whose ids are
// independent: rows are keyed by kind and id, so a part, a labour line and a charge with the
// same id are all shown, each linking to its own order, also after the list changes
// (review 19h L3).
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import SpotPending from "@/components/SpotPending.vue";
import { harness, stubApi } from "./helpers";

const AT = "2026-12-01T02:00:00Z";
const base = { site: "demo", equipment: "E-01", title: "电梯", status: "in_progress", actor: "tech2", at: AT, waits_because: null, unit: null };
const PART = { ...base, kind: "parts", order_id: 3, id: 1, part_no: "DR-ROLLER", description: "门机滚轮", quantity: 3, unit: "pc", unit_cost: 68, amount: 204 };
const LABOUR = { ...base, kind: "labour", order_id: 4, id: 1, part_no: "", description: "tech2", quantity: 8, unit: "h", unit_cost: 80, amount: 640 };
const CHARGE = { ...base, kind: "charges", order_id: 5, id: 1, part_no: "", description: "某电梯公司", quantity: 1, unit_cost: 6000, amount: 6000 };

beforeEach(() => {
  localStorage.clear();
  sessionStorage.clear();
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  document.body.innerHTML = "";
});

describe("lines awaiting approval", () => {
  it("shows a part, a labour line and a charge with the same id, each on its own row", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const h = harness("en");
    stubApi({ "GET /api/spot-purchases/pending": [PART, LABOUR, CHARGE] });
    const list = mount(SpotPending, { props: { tick: 0 }, global: { plugins: h.plugins } });
    await flushPromises();
    await list.get(".spot-pending-badge").trigger("click");
    const rows = () => list.findAll(".spot-pending-line").map((r) => [r.attributes("data-kind"), r.get("a").attributes("href"), r.findAll("div")[0]!.text().split(",")[0]]);
    expect(rows()).toEqual([
      ["parts", "/work-orders/3", "DR-ROLLER 门机滚轮 × 3 pc"],
      ["labour", "/work-orders/4", "Labour of tech2"],
      ["charges", "/work-orders/5", "Contractor 某电梯公司"],
    ]);
    const chargeRow = list.findAll(".spot-pending-line")[2]!.element;
    expect(chargeRow.textContent).toContain("6,000.00 yuan"); // grouped (review 19h L4)
    // the labour line decided: the list reloads in another order; each row still its own
    // (the charge's row is the charge's, not the part's row patched over)
    stubApi({ "GET /api/spot-purchases/pending": [CHARGE, PART] });
    await list.setProps({ tick: 1 });
    await flushPromises();
    expect(rows()).toEqual([
      ["charges", "/work-orders/5", "Contractor 某电梯公司"],
      ["parts", "/work-orders/3", "DR-ROLLER 门机滚轮 × 3 pc"],
    ]);
    expect(list.findAll(".spot-pending-line")[0]!.element).toBe(chargeRow);
    expect(warn.mock.calls.flat().join(" ")).not.toContain("Duplicate keys");
    list.unmount();
  });
});
