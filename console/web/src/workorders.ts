// Work-order rules the UI needs (mirrors maintenance/workorders.py and the console's access
// rules in console/routers/work_order_actions.py; the server checks them again).

export const TRANSITIONS: Record<string, readonly string[]> = {
  open: ["assigned", "cancelled"],
  assigned: ["in_progress", "cancelled"],
  in_progress: ["on_hold", "resolved", "cancelled"],
  on_hold: ["in_progress", "cancelled"],
  resolved: ["verified", "cancelled"],
  verified: ["closed", "cancelled"],
  closed: [],
  cancelled: [],
};

/** Where a technician may move an order (assigned: accept an open one). */
export const FIELD_MOVES: ReadonlySet<string> = new Set(["assigned", "in_progress", "on_hold", "resolved"]);

export interface Actor {
  name: string;
  supervisor: boolean;
  technician: boolean;
  /** The contractor a contractor's user acts for (its orders are assigned to that id). */
  contractor?: string | null;
}

/** The moves `actor` may make on an order in `status` assigned to `assignee`. */
export function movesFor(actor: Actor, status: string, assignee: string | null | undefined): string[] {
  const next = TRANSITIONS[status] ?? [];
  if (actor.supervisor) return [...next];
  if (actor.contractor) return next.filter((to) => FIELD_MOVES.has(to) && to !== "assigned" && assignee === actor.contractor);
  if (!actor.technician) return [];
  return next.filter((to) => {
    if (!FIELD_MOVES.has(to)) return false;
    if (to === "assigned") return status === "open" && (assignee == null || assignee === actor.name);
    return assignee === actor.name;
  });
}

/** Whether labour and parts may be booked by `actor` on an order. */
export function mayBook(actor: Actor, status: string, assignee: string | null | undefined): boolean {
  if (status === "closed" || status === "cancelled") return false;
  return actor.supervisor || (actor.technician && assignee === actor.name);
}

/** The catalogue key of the button that moves an order `from` → `to`. */
export function actionKey(from: string, to: string): string {
  return from === "on_hold" && to === "in_progress" ? "resume" : to;
}

/** "6205-2RS, filter" → the parts of a transition request (one of each). */
export function parseParts(text: string): { part_no: string; quantity: number }[] {
  return text
    .split(/[,，、]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => ({ part_no: part.slice(0, 64), quantity: 1 }));
}

/** The lines of a booking form as the technician filled them in. */
export interface BookingLines {
  labour: { hours: number | null | undefined }[];
  parts: { part_no: string; quantity: number | null | undefined }[];
  // a number input cleared by the user holds null, not undefined
  charges: { contractor: string; amount: number | null | undefined }[];
}

/** The first line of a booking that is not complete, as a catalogue key and its line number
 * (1-based), or null. An added line is never left out without a word: the technician
 * completes it or removes it. */
export function incompleteLine(form: BookingLines): { key: string; line: number } | null {
  const labour = form.labour.findIndex((l) => !l.hours);
  if (labour >= 0) return { key: "wo.labourLineIncomplete", line: labour + 1 };
  const part = form.parts.findIndex((p) => !p.part_no || !p.quantity);
  if (part >= 0) return { key: "wo.partLineIncomplete", line: part + 1 };
  const charge = form.charges.findIndex((c) => !c.contractor.trim() || typeof c.amount !== "number");
  if (charge >= 0) return { key: "wo.chargeLineIncomplete", line: charge + 1 };
  return null;
}
