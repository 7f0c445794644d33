import { describe, expect, it } from "vitest";

import { landing } from "@/router";

const roles = (...mine: string[]) => (...wanted: string[]) => mine.includes("admin") || wanted.some((r) => mine.includes(r));

describe("where / leads", () => {
  it("takes a technician to their work and everyone else to the alarms", () => {
    expect(landing(roles("technician"))).toBe("my-work");
    expect(landing(roles("technician", "engineer"))).toBe("alarms");
    expect(landing(roles("supervisor"))).toBe("alarms");
    expect(landing(roles("viewer"))).toBe("alarms");
    expect(landing(roles("admin"))).toBe("alarms");
    expect(landing(roles("contractor"), true)).toBe("work-orders");
  });
});
