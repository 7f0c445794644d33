import { describe, expect, it } from "vitest";

import { formatAge, formatClock, formatDate, formatReading, formatShare, formatTime, formatValue, isPast } from "@/format";
import { daily, monthEnd } from "@/kpis";
import { compareAlarms } from "@/alarms";

describe("formatting", () => {
  it("shows a whole date with the year in the site's zone", () => {
    const evening = "2026-03-08T20:30:00Z"; // 04:30 on the 9th in Shanghai
    expect(formatDate(evening, "zh-CN", "Asia/Shanghai")).toBe("2026-03-09");
    expect(formatDate(evening, "en", "Asia/Shanghai")).toBe("2026-03-09");
    expect(formatDate(evening, "en", "UTC")).toBe("2026-03-08");
    expect(formatDate(null, "en")).toBe("");
  });
  it("uses a 24-hour clock in both languages", () => {
    const afternoon = "2026-03-02T15:04:00";
    expect(formatTime(afternoon, "en")).toMatch(/15:04/);
    expect(formatTime(afternoon, "zh-CN")).toMatch(/15:04/);
    expect(formatTime(afternoon, "en")).not.toMatch(/PM/i);
    expect(formatClock(new Date(afternoon), "zh-CN")).toMatch(/^15:04:00$/);
    expect(formatTime(null, "en")).toBe("");
  });

  it("shows readings and shares", () => {
    expect(formatValue(1.3472278195074472)).toBe("1.35");
    expect(formatValue(3)).toBe("3");
    expect(formatValue(null)).toBe("");
    expect(formatShare(0.9985)).toBe("99.9%");
    expect(formatShare(undefined)).toBeNull();
  });

  it("tells past times", () => {
    const now = new Date("2026-03-02T12:00:00Z");
    expect(isPast("2026-03-02T11:59:00Z", now)).toBe(true);
    expect(isPast("2026-03-02T12:01:00Z", now)).toBe(false);
    expect(isPast(null, now)).toBe(false);
  });
});

describe("KPI days", () => {
  it("fills every day of the range, zero where nothing happened", () => {
    const rows = daily([{ day: "2026-03-02", count: 4 }], "2026-03-01T08:00:00Z", "2026-03-03T01:00:00Z");
    expect(rows).toEqual([
      { day: "2026-03-01", count: 0 },
      { day: "2026-03-02", count: 4 },
      { day: "2026-03-03", count: 0 },
    ]);
  });

  it("ends a month at its last moment, or now", () => {
    expect(monthEnd("2026-02", new Date("2026-06-01T00:00:00Z"))).toBe("2026-02-28T23:59:59.999Z");
    expect(monthEnd("2026-06", new Date("2026-06-10T00:00:00Z"))).toBe("2026-06-10T00:00:00.000Z");
  });
});

describe("alarm order", () => {
  it("puts the highest priority first, then the newest", () => {
    const a = { priority: 2, raised_at: "2026-03-02T06:00:00Z" };
    const b = { priority: 1, raised_at: "2026-03-01T06:00:00Z" };
    const c = { priority: 2, raised_at: "2026-03-02T07:00:00Z" };
    expect([a, b, c].sort(compareAlarms)).toEqual([b, c, a]);
  });
});

describe("site clocks and readings", () => {
  it("shows a time on the site's clock with its zone", () => {
    const at = "2026-12-06T06:05:00Z";
    const shanghai = formatTime(at, "zh-CN", "Asia/Shanghai");
    expect(shanghai).toMatch(/14:05 GMT\+8$/); // the zone after the clock
    expect(formatClock(new Date(at), "en", "Asia/Shanghai")).toBe("14:05:00 GMT+8");
    const berlin = formatTime(at, "en", "Europe/Berlin");
    expect(berlin).toMatch(/07:05/);
    expect(berlin).toMatch(/GMT\+1/);
  });

  it("names the year of a time that is not this year on the site's clock", () => {
    const now = new Date("2026-01-01T02:00:00Z"); // 10:00 on New Year's Day in Shanghai
    const lastYear = "2025-12-31T15:50:00Z"; // 23:50 on New Year's Eve there
    expect(formatTime(lastYear, "zh-CN", "Asia/Shanghai", now)).toMatch(/^2025.12.31 23:50 GMT\+8$/);
    expect(formatTime(lastYear, "en", "Asia/Shanghai", now)).toMatch(/2025/);
    expect(formatTime("2026-01-01T01:00:00Z", "en", "Asia/Shanghai", now)).not.toMatch(/2026/);
    expect(formatTime("1970-01-01T00:00:00Z", "en", "Asia/Shanghai", now)).toMatch(/1970/);
  });

  it("shows readings with their unit and decimals, yes/no for yes/no points", () => {
    const point = { label: { en: "bearing temperature", "zh-CN": "轴承温度" }, unit: "°C", precision: 1, boolean: false };
    const words = { yes: "是", no: "否" };
    expect(formatReading(87.345, point, "zh-CN", words)).toBe("87.3 °C");
    expect(formatReading(1234.5, { ...point, precision: 0 }, "en", words)).toBe("1,235 °C");
    expect(formatReading(1, { ...point, unit: "", precision: null, boolean: true }, "zh-CN", words)).toBe("是");
    expect(formatReading(false, null, "zh-CN", words)).toBe("否");
    expect(formatReading(1.3472278195074472, null, "en", words)).toBe("1.35");
    expect(formatReading(null, point, "en", words)).toBe("");
  });

  it("says how old data is", () => {
    expect([formatAge(4), formatAge(150), formatAge(7200), formatAge(3 * 86400), formatAge(null)]).toEqual(["4 s", "3 min", "2 h", "3 d", "—"]);
    expect(formatAge(45, "zh-CN")).toBe("45秒");
  });
});
