// The API client: bearer token on calls, one renewal and retry after a 401, problem details
// as errors, the login as a form post.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ApiError, api, call, useTokens } from "@/api/client";
import { useSession } from "@/stores/session";
import { harness, json, page, stubApi } from "./helpers";

describe("the API client", () => {
  beforeEach(() => {
    sessionStorage.clear();
    harness();
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    useTokens(null);
  });

  it("renews the token once after a 401 and repeats the call", async () => {
    let token = "old";
    const renew = vi.fn(() => {
      token = "new";
      return Promise.resolve(true);
    });
    const expired = vi.fn();
    useTokens({ accessToken: () => token, renew, expired });
    const calls = stubApi({
      "POST /api/alarms/a1/comments": (c: { headers: Headers }) =>
        c.headers.get("Authorization") === "Bearer new" ? json({ at: "2026-03-02T06:00:00Z", kind: "comment" }, 201) : json({ detail: "expired" }, 401),
    });
    const item = await call(api.POST("/api/alarms/{alarm_id}/comments", { params: { path: { alarm_id: "a1" } }, body: { text: "on site" } }));
    expect(item.kind).toBe("comment");
    expect(renew).toHaveBeenCalledOnce();
    expect(expired).not.toHaveBeenCalled();
    expect(calls.map((c) => c.body)).toEqual([{ text: "on site" }, { text: "on site" }]);
  });

  it("ends the session when renewal fails, and reports the problem's detail", async () => {
    const expired = vi.fn();
    useTokens({ accessToken: () => "old", renew: () => Promise.resolve(false), expired });
    stubApi({ "GET /api/alarms": json({ detail: "token expired" }, 401) });
    const failure = call(api.GET("/api/alarms"));
    await expect(failure).rejects.toThrow(new ApiError(401, "token expired"));
    expect(expired).toHaveBeenCalledOnce();
  });

  it("logs in with a form post and keeps the tokens for the tab", async () => {
    const calls = stubApi({
      "POST /api/auth/token": { access_token: "A", refresh_token: "R", token_type: "bearer", expires_in: 900 },
      "GET /api/auth/me": { name: "admin", roles: ["admin"], sites: null, kind: "user" },
      "GET /api/alarms": page([]),
    });
    const session = useSession();
    await session.login("admin", "secret pw");
    expect(calls[0]!.headers.get("Content-Type")).toBe("application/x-www-form-urlencoded");
    expect(new URLSearchParams(calls[0]!.body as string).get("password")).toBe("secret pw");
    expect(session.signedIn).toBe(true);
    expect(session.can("supervisor")).toBe(true);
    expect(sessionStorage.getItem("bw-access")).toBe("A");
    await call(api.GET("/api/alarms"));
    expect(calls.at(-1)!.headers.get("Authorization")).toBe("Bearer A");
    session.logout();
    expect(sessionStorage.getItem("bw-refresh")).toBeNull();
  });

  it("keeps the session over a reload without a network, not over a refusal", async () => {
    const me = { name: "li.wei", roles: ["technician"], sites: ["demo"], kind: "user" };
    stubApi({
      "POST /api/auth/token": { access_token: "A", refresh_token: "R", token_type: "bearer", expires_in: 900 },
      "GET /api/auth/me": me,
    });
    await useSession().login("li.wei", "pw");
    harness(); // a reload: a new store, the tab's storage kept
    vi.stubGlobal("fetch", () => Promise.reject(new TypeError("Failed to fetch")));
    const offline = useSession();
    expect(await offline.restore()).toBe(true);
    expect(offline.can("technician")).toBe(true);
    harness();
    stubApi({ "GET /api/auth/me": json({ detail: "token revoked" }, 401), "POST /api/auth/refresh": json({ detail: "no" }, 401) });
    const refused = useSession();
    expect(await refused.restore()).toBe(false);
    expect(sessionStorage.getItem("bw-me")).toBeNull();
  });
});
