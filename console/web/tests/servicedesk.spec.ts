// The public repair-request pages' helpers: the proof of work the browser computes (checked
// against Node's own SHA-256), and that their calls carry no session even when one exists.
import { createHash } from "node:crypto";

import { afterEach, describe, expect, it, vi } from "vitest";

import { useTokens } from "@/api/client";
import { fetchStatus, leadingZeroBits, sendRating, solveChallenge, validPhone } from "@/servicedesk";

function zeroBits(text: string): number {
  return leadingZeroBits(new Uint8Array(createHash("sha256").update(text).digest()));
}

describe("the public request helpers", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    useTokens(null);
  });

  it("counts leading zero bits", () => {
    expect(leadingZeroBits(Uint8Array.from([0, 0, 255]))).toBe(16);
    expect(leadingZeroBits(Uint8Array.from([0, 1]))).toBe(15);
    expect(leadingZeroBits(Uint8Array.from([0x80]))).toBe(0);
    expect(leadingZeroBits(Uint8Array.from([0x10, 0]))).toBe(3);
  });

  it("finds the first counter that solves a challenge", async () => {
    const challenge = "v1.1790000000.10.abcdef.0123";
    const solution = await solveChallenge(challenge, 10);
    expect(zeroBits(`${challenge}:${solution}`)).toBeGreaterThanOrEqual(10);
    for (let n = 0; n < Number(solution); n += 1) expect(zeroBits(`${challenge}:${n}`)).toBeLessThan(10);
  });

  it("sends no bearer token and names the language", async () => {
    useTokens({ accessToken: () => "SECRET", renew: () => Promise.resolve(true), expired: () => undefined });
    const seen: Headers[] = [];
    vi.stubGlobal("fetch", (_url: string, init: RequestInit) => {
      seen.push(new Headers(init.headers));
      return Promise.resolve(new Response(JSON.stringify({ state: "done" }), { status: 200 }));
    });
    await fetchStatus("tok", "zh-CN");
    await sendRating("tok", 5, "", "en");
    expect(seen.map((h) => h.get("Authorization"))).toEqual([null, null]);
    expect(seen.map((h) => h.get("Accept-Language"))).toEqual(["zh-CN", "en"]);
  });

  it("checks phone numbers as the server does", () => {
    expect(validPhone("+86 138 0013 8000")).toBe(true);
    expect(validPhone("010-6552 9988")).toBe(true);
    expect(validPhone("call me")).toBe(false);
  });
});
