import { describe, expect, it } from "vitest";

import { actionKey, incompleteLine, mayBook, movesFor, parseParts } from "@/workorders";

const tech = { name: "li.wei", supervisor: false, technician: true };
const boss = { name: "zhang", supervisor: true, technician: false };
const viewer = { name: "v", supervisor: false, technician: false };
const lift = { name: "wang", supervisor: false, technician: false, contractor: "liftco" };

describe("work-order moves", () => {
  it.each([
    [tech, "open", null, ["assigned"]],
    [tech, "open", "someone", []],
    [tech, "assigned", "li.wei", ["in_progress"]],
    [tech, "assigned", "someone", []],
    [tech, "in_progress", "li.wei", ["on_hold", "resolved"]],
    [tech, "resolved", "li.wei", []],
    [boss, "open", null, ["assigned", "cancelled"]],
    [boss, "resolved", "li.wei", ["verified", "cancelled"]],
    [boss, "closed", "li.wei", []],
    [viewer, "open", null, []],
    // a contractor's user: the orders dispatched (assigned) to its contractor, never accepting
    [lift, "assigned", "liftco", ["in_progress"]],
    [lift, "in_progress", "liftco", ["on_hold", "resolved"]],
    [lift, "assigned", "fixco", []],
    [lift, "open", null, []],
  ] as const)("%o on %s (assignee %s) → %j", (actor, status, assignee, expected) => {
    expect(movesFor(actor, status, assignee)).toEqual(expected);
  });

  it("books work only on own unfinished orders (supervisors on any)", () => {
    expect(mayBook(tech, "in_progress", "li.wei")).toBe(true);
    expect(mayBook(tech, "in_progress", "someone")).toBe(false);
    expect(mayBook(boss, "on_hold", "someone")).toBe(true);
    expect(mayBook(boss, "closed", "someone")).toBe(false);
  });

  it("names resuming from hold differently from starting", () => {
    expect(actionKey("on_hold", "in_progress")).toBe("resume");
    expect(actionKey("assigned", "in_progress")).toBe("in_progress");
  });

  it("reads parts separated by Latin or Chinese commas", () => {
    expect(parseParts("6205-2RS, seal，滤网 、 ")).toEqual([
      { part_no: "6205-2RS", quantity: 1 },
      { part_no: "seal", quantity: 1 },
      { part_no: "滤网", quantity: 1 },
    ]);
    expect(parseParts("  ")).toEqual([]);
  });
});

describe("a booking's lines", () => {
  const done = { labour: [{ hours: 2 }], parts: [{ part_no: "6205-2RS", quantity: 2 }], charges: [{ contractor: "Otis", amount: 80 }] };

  it("passes when every line is complete", () => {
    expect(incompleteLine(done)).toBeNull();
    expect(incompleteLine({ ...done, charges: [{ contractor: "Otis", amount: 0 }] })).toBeNull(); // a free visit
    expect(incompleteLine({ labour: [], parts: [], charges: [] })).toBeNull();
  });

  it.each([
    [{ ...done, labour: [{ hours: 2 }, { hours: undefined }] }, "wo.labourLineIncomplete", 2],
    [{ ...done, parts: [{ part_no: "", quantity: 2 }] }, "wo.partLineIncomplete", 1],
    [{ ...done, parts: [{ part_no: "A", quantity: 1 }, { part_no: "B", quantity: 0 }] }, "wo.partLineIncomplete", 2],
    [{ ...done, charges: [{ contractor: "  ", amount: 5 }] }, "wo.chargeLineIncomplete", 1],
    [{ ...done, charges: [{ contractor: "Otis", amount: undefined }] }, "wo.chargeLineIncomplete", 1],
    [{ ...done, charges: [{ contractor: "Otis", amount: null }] }, "wo.chargeLineIncomplete", 1],
    [{ ...done, labour: [{ hours: null }] }, "wo.labourLineIncomplete", 1],
  ])("names the first incomplete line (%#)", (form, key, line) => {
    expect(incompleteLine(form)).toEqual({ key, line });
  });
});
