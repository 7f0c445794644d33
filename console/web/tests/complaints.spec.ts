// Complaints: the time received is typed on the site's clock and sent in UTC; run-out
// clocks become catalogue keys that exist in both languages.
import { describe, expect, it } from "vitest";

import { CATEGORIES, CHANNELS, OUTCOMES, overdueKeys, zonedToIso } from "@/complaints";
import en from "@/i18n/en";
import zhCN from "@/i18n/zh-CN";

describe("complaint helpers", () => {
  it("reads a wall time on the site's clock", () => {
    // The last evening of March in Shanghai is still March 31 in UTC, 8 hours earlier.
    expect(zonedToIso("2026-03-31 23:30", "Asia/Shanghai")).toBe("2026-03-31T15:30:00.000Z");
    expect(zonedToIso("2026-04-01T00:30", "Asia/Shanghai")).toBe("2026-03-31T16:30:00.000Z");
    // A zone with daylight saving: its summer offset applies in summer.
    expect(zonedToIso("2026-07-01 12:00", "Europe/Berlin")).toBe("2026-07-01T10:00:00.000Z");
    expect(zonedToIso("2026-01-01 12:00", "Europe/Berlin")).toBe("2026-01-01T11:00:00.000Z");
  });

  it("refuses what is not a time", () => {
    for (const bad of ["yesterday", "2026-02-30 10:00", "2026-03-01 24:00", "2026-03-01", ""]) {
      expect(zonedToIso(bad, "Asia/Shanghai"), bad).toBeNull();
    }
  });

  it("names every value and clock in both languages", () => {
    expect(overdueKeys(["response", "resolution"])).toEqual(["complaint.overdueResponse", "complaint.overdueResolution"]);
    expect(overdueKeys(undefined)).toEqual([]);
    for (const catalogue of [zhCN, en]) {
      expect(Object.keys(catalogue.complaintChannel).sort()).toEqual([...CHANNELS].sort());
      expect(Object.keys(catalogue.complaintCategory).sort()).toEqual([...CATEGORIES].sort());
      expect(Object.keys(catalogue.complaintOutcome).sort()).toEqual([...OUTCOMES].sort());
    }
  });
});
