// The public repair-request pages' helpers: the proof of work the browser computes (checked
// against Node's own SHA-256; the fallback for pages without WebCrypto against WebCrypto), the
// fresh challenge when the page's is old or refused, the wait of a limit in minutes, and that
// their calls carry no session even when one exists.
import { createHash } from "node:crypto";

import { afterEach, describe, expect, it, vi } from "vitest";

import { useTokens } from "@/api/client";
import {
  fetchStatus,
  leadingZeroBits,
  RetryLater,
  sendRating,
  sha256Digest,
  solveAndSend,
  solveChallenge,
  stale,
  validPhone,
  type HeldChallenge,
} from "@/servicedesk";

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

  it("computes SHA-256 without WebCrypto exactly as WebCrypto does", async () => {
    const webcrypto = sha256Digest(globalThis.crypto.subtle);
    const fallback = sha256Digest(undefined);
    const encoder = new TextEncoder();
    // empty, around the 55/56/64-byte padding edges, long, and CJK (multi-byte) input
    const inputs = ["", "abc", "a".repeat(55), "b".repeat(56), "c".repeat(64), "d".repeat(1000), "报修:42"];
    for (const text of inputs) {
      const data = encoder.encode(text);
      expect(Array.from(await fallback(data))).toEqual(Array.from(await webcrypto(data)));
      expect(Buffer.from(await fallback(data)).toString("hex")).toBe(createHash("sha256").update(text).digest("hex"));
    }
    const challenge = "v1.1790000000.10.abcdef.0123";
    const without = await solveChallenge(challenge, 10, undefined, fallback);
    expect(without).toBe(await solveChallenge(challenge, 10, undefined, webcrypto));
  });

  it("solves with the fallback when the page has no crypto.subtle (plain HTTP)", async () => {
    vi.stubGlobal("crypto", {});
    const challenge = "v1.1790000000.8.abcdef.0123";
    const solution = await solveChallenge(challenge, 8);
    expect(zeroBits(`${challenge}:${solution}`)).toBeGreaterThanOrEqual(8);
  });

  it("says how long a limit lasts in whole minutes", async () => {
    const problem = { detail: "您所在网络提交的报修过多，请在 3598 秒后重试" };
    vi.stubGlobal("fetch", () =>
      Promise.resolve(new Response(JSON.stringify(problem), { status: 429, headers: { "Retry-After": "3598" } })),
    );
    const err: unknown = await fetchStatus("tok", "zh-CN").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryLater);
    expect((err as RetryLater).minutes).toBe(60);
    expect(new RetryLater("x", 1).minutes).toBe(1);
  });

  describe("the challenge sent", () => {
    const ISSUED = Date.parse("2026-03-20T02:00:00Z");
    const held = (challenge: string, received = ISSUED): HeldChallenge => ({
      challenge: { challenge, difficulty: 1, expires_at: "2026-03-20T02:10:00Z" },
      received,
    });
    const point = (challenge: string) => ({ challenge: { challenge, difficulty: 1, expires_at: "2099-01-01T00:00:00Z" } });
    const refused = { detail: "this proof of work has expired", errors: [{ name: "solution", detail: "expired" }] };

    /** Answers the page's calls in turn; returns what each was (method and challenge sent). */
    function server(...answers: [number, unknown][]): string[] {
      const seen: string[] = [];
      vi.stubGlobal("fetch", (_url: string, init: RequestInit) => {
        const field = init.body instanceof FormData ? init.body.get("challenge") : null;
        const sent = typeof field === "string" ? field : "";
        seen.push(`${init.method ?? "GET"} ${sent}`.trim());
        const [status, body] = answers.shift() ?? [500, null];
        return Promise.resolve(new Response(JSON.stringify(body), { status }));
      });
      return seen;
    }
    const form = () => {
      const body = new FormData();
      body.set("description", "漏水");
      return body;
    };
    const taken = { number: "R-000001", status_token: "t", status_path: "/s/t" };

    it("is past half its validity after five of its ten minutes", () => {
      const now = held("c");
      expect(stale(now, ISSUED + 299_000)).toBe(false);
      expect(stale(now, ISSUED + 301_000)).toBe(true);
    });

    it("is the page's own while fresh", async () => {
      vi.useFakeTimers({ now: ISSUED + 60_000, toFake: ["Date"] });
      const seen = server([201, taken]);
      expect(await solveAndSend("code", form(), "zh-CN", held("old"))).toEqual(taken);
      expect(seen).toEqual(["POST old"]);
      vi.useRealTimers();
    });

    it("is a fresh one when the page's is old", async () => {
      vi.useFakeTimers({ now: ISSUED + 400_000, toFake: ["Date"] });
      const seen = server([200, point("new")], [201, taken]);
      await solveAndSend("code", form(), "zh-CN", held("old"));
      expect(seen).toEqual(["GET", "POST new"]);
      vi.useRealTimers();
    });

    it("is fetched again once when the server refuses the proof, and not twice", async () => {
      vi.useFakeTimers({ now: ISSUED + 60_000, toFake: ["Date"] });
      const seen = server([400, refused], [200, point("again")], [201, taken]);
      expect(await solveAndSend("code", form(), "zh-CN", held("old"))).toEqual(taken);
      expect(seen).toEqual(["POST old", "GET", "POST again"]);
      const twice = server([400, refused], [200, point("again")], [400, refused]);
      await expect(solveAndSend("code", form(), "zh-CN", held("old"))).rejects.toThrow("expired");
      expect(twice).toEqual(["POST old", "GET", "POST again"]);
      const other = server([422, { detail: "phone is invalid", errors: [{ name: "phone", detail: "x" }] }]);
      await expect(solveAndSend("code", form(), "zh-CN", held("old"))).rejects.toThrow("phone");
      expect(other).toEqual(["POST old"]); // not a proof problem: no second try
      vi.useRealTimers();
    });
  });
});
