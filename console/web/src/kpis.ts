// KPI chart data: a count for every day of a range, zero where nothing happened.

export interface DayCount {
  day: string;
  count: number;
}

const DAY_MS = 86_400_000;

/** One entry per UTC day from `start` to `end` (ISO times or dates), zero-filled. */
export function daily(rows: DayCount[], start: string, end: string): DayCount[] {
  const counts = new Map(rows.map((r) => [r.day, r.count]));
  const out: DayCount[] = [];
  const last = new Date(end).getTime();
  for (let t = new Date(`${start.slice(0, 10)}T00:00:00Z`).getTime(); t <= last; t += DAY_MS) {
    const day = new Date(t).toISOString().slice(0, 10);
    out.push({ day, count: counts.get(day) ?? 0 });
  }
  return out;
}

/** The last moment of month `YYYY-MM`, or `now` if earlier. */
export function monthEnd(month: string, now: Date = new Date()): string {
  const end = Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)), 1) - 1;
  return new Date(Math.min(now.getTime(), end)).toISOString();
}
