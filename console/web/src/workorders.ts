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
}

/** The moves `actor` may make on an order in `status` assigned to `assignee`. */
export function movesFor(actor: Actor, status: string, assignee: string | null | undefined): string[] {
  const next = TRANSITIONS[status] ?? [];
  if (actor.supervisor) return [...next];
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
