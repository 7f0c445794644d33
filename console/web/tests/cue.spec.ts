// The audible cue: a critical alarm arriving unacknowledged sounds; muted, it does not.
import { mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { defineComponent, h } from "vue";

import type { LiveMessage } from "@/api/live";
import { needsCue, useAlarmCue } from "@/composables/cue";
import { useLive } from "@/stores/live";
import { usePrefs } from "@/stores/prefs";
import { FakeSocket, harness } from "./helpers";

const critical = { id: 1, kind: "alarm", site: "demo", data: { severity: "critical", state: "active_unack", transition: "activate" } } as const;

describe("the alarm cue", () => {
  const starts = vi.fn();
  beforeEach(() => {
    starts.mockClear();
    localStorage.clear();
    FakeSocket.all = [];
    class FakeAudio {
      currentTime = 0;
      destination = {};
      createOscillator() {
        return { frequency: { value: 0 }, connect: (n: unknown) => n, start: starts, stop: vi.fn() };
      }
      createGain() {
        return { gain: { value: 0 }, connect: (n: unknown) => n };
      }
    }
    vi.stubGlobal("AudioContext", FakeAudio);
    vi.stubGlobal("WebSocket", FakeSocket);
  });
  afterEach(() => vi.unstubAllGlobals());

  it.each([
    [critical, true],
    [{ ...critical, data: { ...critical.data, severity: "major" } }, false],
    [{ ...critical, data: { ...critical.data, transition: "acknowledge" } }, false],
    [{ ...critical, data: { ...critical.data, state: "active_ack" } }, false],
    [{ kind: "reset" }, false],
  ] as [LiveMessage, boolean][])("%j needs the cue: %s", (message, expected) => {
    expect(needsCue(message)).toBe(expected);
  });

  it("sounds for live critical alarms unless muted", () => {
    const { plugins } = harness();
    const host = mount(defineComponent({ setup: () => (useAlarmCue(), () => h("div")) }), { global: { plugins } });
    useLive().connect({ token: () => "t", renew: () => Promise.resolve(true) });
    const server = FakeSocket.all[0]!;
    server.open();
    server.send(critical);
    expect(starts).toHaveBeenCalledTimes(1);
    usePrefs().toggleMuted();
    server.send({ ...critical, id: 2 });
    expect(starts).toHaveBeenCalledTimes(1);
    usePrefs().toggleMuted();
    server.send({ ...critical, id: 3 });
    expect(starts).toHaveBeenCalledTimes(2);
    host.unmount();
    server.send({ ...critical, id: 4 });
    expect(starts).toHaveBeenCalledTimes(2);
  });
});
