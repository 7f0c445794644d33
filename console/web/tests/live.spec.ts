// The live stream: events reach subscribers, a drop reconnects with backoff and resumes from
// the last event id, an incomplete resume tells views to reload, disconnect stops retrying.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { LiveMessage } from "@/api/live";
import { useLive } from "@/stores/live";
import { FakeSocket, harness } from "./helpers";

const alarmEvent = (id: number) => ({ id, kind: "alarm", site: "demo", data: { equipment: "P-01", state: "active_unack" } });

describe("the live stream", () => {
  beforeEach(() => {
    harness();
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("delivers events and resumes after a drop from the last event id", async () => {
    const live = useLive();
    const seen: LiveMessage[] = [];
    live.subscribe((m) => seen.push(m));
    const renew = vi.fn(() => Promise.resolve(true));
    live.connect({ token: () => "tok en", renew });

    const first = FakeSocket.all[0]!;
    expect(first.url).toBe("ws://localhost:3000/api/live?access_token=tok+en");
    first.open();
    expect(live.connected).toBe(true);
    first.send({ kind: "hello", last_id: 41, complete: true });
    first.send(alarmEvent(42));
    first.send({ nonsense: true });
    expect(seen).toEqual([alarmEvent(42)]);

    first.drop();
    expect(live.connected).toBe(false);
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(renew).toHaveBeenCalledOnce();
    const second = FakeSocket.all[1]!;
    expect(new URL(second.url).searchParams.get("last_event_id")).toBe("42");

    // the server no longer has what was missed: views reload
    second.open();
    second.send({ kind: "hello", last_id: 90, complete: false });
    expect(seen.at(-1)).toEqual({ kind: "reset" });
    expect(live.lastEventId).toBe(90);
  });

  it("backs off exponentially while the console is away, then stops when disconnected", async () => {
    const live = useLive();
    live.connect({ token: () => "t", renew: () => Promise.resolve(false) });
    FakeSocket.all[0]!.drop();
    await vi.advanceTimersByTimeAsync(1000);
    FakeSocket.all[1]!.drop();
    await vi.advanceTimersByTimeAsync(1999);
    expect(FakeSocket.all).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(3);

    live.disconnect();
    expect(FakeSocket.all[2]!.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(3);
  });

  it("does not connect without a token", () => {
    useLive().connect({ token: () => null, renew: () => Promise.resolve(false) });
    expect(FakeSocket.all).toHaveLength(0);
  });
});
