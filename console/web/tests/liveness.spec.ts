// "Live" means fresh data, not an open socket: the console's heartbeat says whether its broker
// connection is up and how old the newest data is; silence of the heartbeat means the stream
// is gone. Views poll while not live.
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { defineComponent, h } from "vue";

import LiveIndicator from "@/components/LiveIndicator.vue";
import { POLL_WHEN_NOT_LIVE_MS, useLiveRefresh } from "@/composables/live";
import { BEAT_LOST_MS, REFUSED_RETRY_MS, TOO_MANY_STREAMS, useLive } from "@/stores/live";
import { FakeSocket, harness } from "./helpers";

const beat = (over: object = {}) => ({
  kind: "liveness", at: "2026-12-06T06:00:00Z", broker: true, fresh: true, newest_age_s: 2,
  stale_after_s: 30, gateways_offline: 0, devices_silent: 0, ...over,
});

describe("liveness", () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("is live only on a recent heartbeat with the broker up and fresh data", async () => {
    const { plugins } = harness("zh-CN");
    const live = useLive();
    const indicator = mount(LiveIndicator, { global: { plugins } });
    live.connect({ token: () => "t", renew: () => Promise.resolve(true) });
    const server = FakeSocket.all[0]!;
    server.open();
    expect(live.state).toBe("stream"); // connected, no heartbeat yet: not known to be live
    server.send(beat());
    await flushPromises();
    expect(live.state).toBe("live");
    expect(indicator.get("#live").attributes("data-live")).toBe("on");
    expect(indicator.text()).toBe("实时");
    server.send(beat({ fresh: false, newest_age_s: 45 }));
    await flushPromises();
    expect(live.state).toBe("stale");
    expect(indicator.get("#live").attributes("data-live")).toBe("off");
    expect(indicator.text()).toBe("非实时：45秒无新数据");
    server.send(beat({ broker: false, fresh: false }));
    await flushPromises();
    expect(indicator.text()).toBe("非实时：与消息服务器断开");
    server.send(beat());
    await vi.advanceTimersByTimeAsync(BEAT_LOST_MS + 1000); // the socket is open, nothing comes
    expect(live.state).toBe("stream");
    expect(indicator.text()).toBe("非实时：实时连接中断");
  });

  it("says so when the console refuses the stream for too many tabs, and asks again a minute later", async () => {
    const { plugins } = harness("zh-CN");
    const live = useLive();
    const indicator = mount(LiveIndicator, { global: { plugins } });
    live.connect({ token: () => "t", renew: () => Promise.resolve(true) });
    const refused = FakeSocket.all[0]!;
    refused.open(); // the console accepts, then closes at once with its code
    refused.drop(TOO_MANY_STREAMS, "你已打开 8 个实时数据流");
    await flushPromises();
    expect(live.state).toBe("refused");
    expect(indicator.text()).toBe("非实时：打开的控制台标签页过多");
    expect(indicator.get("#live").attributes("title")).toContain("请关闭一个");
    await vi.advanceTimersByTimeAsync(REFUSED_RETRY_MS - 1000);
    expect(FakeSocket.all).toHaveLength(1); // no hammering meanwhile
    await vi.advanceTimersByTimeAsync(2000);
    expect(FakeSocket.all).toHaveLength(2);
    const second = FakeSocket.all[1]!;
    second.open();
    second.send({ kind: "hello", last_id: 0, complete: true });
    second.send(beat());
    await flushPromises();
    expect(live.state).toBe("live"); // another tab was closed: this one is live again
    second.drop(); // an ordinary drop retries on the short backoff, not the minute
    await flushPromises();
    expect(live.state).toBe("stream");
    await vi.advanceTimersByTimeAsync(1500);
    expect(FakeSocket.all).toHaveLength(3);
  });

  it("asks the console for its heartbeat when it connects", () => {
    harness();
    const sent: string[] = [];
    class Recording extends FakeSocket {
      override send(message: object | string): void {
        if (typeof message === "string") sent.push(message);
        else super.send(message);
      }
    }
    vi.stubGlobal("WebSocket", Recording);
    useLive().connect({ token: () => "t", renew: () => Promise.resolve(true) });
    FakeSocket.all[0]!.open();
    expect(sent).toEqual(['{"liveness":true}']);
  });

  it("makes views poll while the data is not live", async () => {
    const { plugins } = harness();
    const load = vi.fn(() => Promise.resolve());
    mount(defineComponent({ setup: () => (useLiveRefresh(load), () => h("div")) }), { global: { plugins } });
    await flushPromises();
    expect(load).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(POLL_WHEN_NOT_LIVE_MS + 200);
    expect(load).toHaveBeenCalledTimes(2); // nothing is live: it polls
    const live = useLive();
    live.connect({ token: () => "t", renew: () => Promise.resolve(true) });
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.send(beat());
    await vi.advanceTimersByTimeAsync(POLL_WHEN_NOT_LIVE_MS + 200);
    expect(load).toHaveBeenCalledTimes(2); // live: events drive reloads, no polling
  });
});
