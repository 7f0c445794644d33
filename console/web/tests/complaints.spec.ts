// Complaints: the time received is typed on the site's clock and sent in UTC; run-out
// clocks become catalogue keys that exist in both languages.
import { describe, expect, it } from "vitest";

import { ApiError } from "@/api/client";
import {
  CATEGORIES,
  CHANNELS,
  FIELD_LABELS,
  OUTCOMES,
  type Speaker,
  changeWords,
  checkComplaint,
  normalPhone,
  overdueKeys,
  zonedToIso,
} from "@/complaints";
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

const FORM = { building: "3栋", room: "1单元 502", description: "漏水", complainant: "", phone: "" };

describe("the log form's own checks (review 18c #7, #8, #21)", () => {
  it("accepts a filled form", () => {
    expect(checkComplaint(FORM)).toEqual({});
  });

  it("names required fields, blank or invisible only", () => {
    expect(checkComplaint({ ...FORM, building: "", room: "\u200b", description: " \u3000\n" })).toEqual({
      building: "complaint.required",
      room: "complaint.required",
      description: "complaint.required",
    });
  });

  it("refuses hidden characters, but newlines and tabs in the description", () => {
    expect(checkComplaint({ ...FORM, room: "\u202e205", complainant: "王\u200b" })).toEqual({
      room: "complaint.hiddenChars",
      complainant: "complaint.hiddenChars",
    });
    expect(checkComplaint({ ...FORM, description: "a\n\tb" })).toEqual({});
    expect(checkComplaint({ ...FORM, description: "a\u0007b" })).toEqual({ description: "complaint.hiddenChars" });
  });

  it("takes an IME's full-width phone digits as ASCII and needs 5 digits", () => {
    expect(normalPhone("１３８１２３４５６７８")).toBe("13812345678");
    expect(normalPhone(" +86 138-1234-5678 ")).toBe("+86 138-1234-5678");
    for (const bad of ["1----------", "1234", "call me", "+"]) expect(normalPhone(bad), bad).toBeNull();
    expect(checkComplaint({ ...FORM, phone: "1----------" })).toEqual({ phone: "complaint.phoneInvalid" });
    expect(checkComplaint({ ...FORM, phone: "１３８１２３４５６７８" })).toEqual({});
  });

  it("has its words in both languages", () => {
    for (const catalogue of [zhCN, en]) {
      for (const key of ["required", "hiddenChars", "phoneInvalid", "fixFields", "stale", "acceptedNotAsked"]) {
        expect(catalogue.complaint, key).toHaveProperty(key);
      }
    }
  });

  it("keeps the server's reasons by field", () => {
    const err = ApiError.of(422, { detail: "x", errors: [{ in: "body", name: "phone", detail: "不是电话号码" }, { bad: 1 }] });
    expect(err.errors).toEqual([{ name: "phone", detail: "不是电话号码" }]);
  });
});

describe("the timeline in the reader's words (review 18c #5)", () => {
  const speaker = (catalogue: typeof en | typeof zhCN): Speaker => ({
    t: (key) => {
      const [group, name] = key.split(".") as [string, string];
      return (catalogue as unknown as Record<string, Record<string, string>>)[group]?.[name] ?? key;
    },
    label: (group, value) => (catalogue[group] as Record<string, string>)[value] ?? value,
    time: (iso) => `time(${iso})`,
  });

  it("labels fields, outcomes, booleans and times in zh-CN and en", () => {
    const zh = speaker(zhCN);
    expect(changeWords("handler", [null, "eng"], zh)).toEqual({ field: "处理人", before: "–", after: "eng" });
    expect(changeWords("outcome", [null, "partially_resolved"], zh)).toEqual({ field: zhCN.complaint.outcome, before: "–", after: zhCN.complaintOutcome.partially_resolved });
    expect(changeWords("accepted", [null, true], zh).after).toBe("是");
    expect(changeWords("accepted", [null, false], speaker(en)).after).toBe("no");
    const at = "2026-12-07T02:42:00+00:00";
    expect(changeWords("responded_at", [null, at], speaker(en))).toEqual({ field: en.complaint.respondedAt, before: "–", after: `time(${at})` });
    for (const field of Object.keys(FIELD_LABELS)) {
      for (const catalogue of [zhCN, en]) expect(changeWords(field, [null, null], speaker(catalogue)).field).not.toBe(field);
    }
  });
});
