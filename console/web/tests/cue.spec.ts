// The audible cue: while alarms of a priority wait unacknowledged, that priority's tone
// repeats at the user's interval until they are acknowledged; P4 is silent by default; muted,
// nothing sounds. (It used to sound once, for `critical` only, which the demo never raised.)
import { mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { defineComponent, h } from "vue";

import { TONES, dueCues, useAlarmCue } from "@/composables/cue";
import { useCounts } from "@/stores/counts";
import { DEFAULT_CUE, usePrefs } from "@/stores/prefs";
import { harness } from "./helpers";

const none = { "1": 0, "2": 0, "3": 0, "4": 0 };

describe("which tone is due", () => {
  it.each([
    ["nothing waits", none, {}, 0, false, []],
    ["a P2 waits, never played", { ...none, "2": 1 }, {}, 0, false, ["2"]],
    ["a P2 waits, played 10 s ago (every 15 s)", { ...none, "2": 1 }, { "2": 0 }, 10_000, false, []],
    ["a P2 waits, played 15 s ago", { ...none, "2": 1 }, { "2": 0 }, 15_000, false, ["2"]],
    ["P1 and P3 wait: the most urgent first", { ...none, "1": 2, "3": 1 }, {}, 0, false, ["1"]],
    ["P4 is silent by default", { ...none, "4": 5 }, {}, 0, false, []],
    ["muted", { ...none, "1": 1 }, {}, 0, true, []],
  ] as const)("%s", (_, waiting, last, now, muted, expected) => {
    expect(dueCues({ ...waiting }, DEFAULT_CUE, { ...last }, now, muted)).toEqual(expected);
  });
});

describe("the alarm cue", () => {
  const tones: number[] = [];
  beforeEach(() => {
    tones.length = 0;
    localStorage.clear();
    vi.useFakeTimers();
    class FakeAudio {
      currentTime = 0;
      destination = {};
      createOscillator() {
        const osc = { frequency: { value: 0 }, connect: (n: unknown) => n, start: () => tones.push(osc.frequency.value), stop: vi.fn() };
        return osc;
      }
      createGain() {
        return { gain: { value: 0 }, connect: (n: unknown) => n };
      }
    }
    vi.stubGlobal("AudioContext", FakeAudio);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("repeats until acknowledged, per the user's interval, and not while muted", async () => {
    const { plugins } = harness();
    const host = mount(defineComponent({ setup: () => (useAlarmCue(), () => h("div")) }), { global: { plugins } });
    const counts = useCounts();
    counts.counts = { ...counts.counts, unacknowledged: { ...none, "2": 1 } };
    await vi.advanceTimersByTimeAsync(1000);
    expect(tones).toEqual([TONES["2"]]);
    await vi.advanceTimersByTimeAsync(14_000);
    expect(tones).toHaveLength(1); // every 15 s for P2
    await vi.advanceTimersByTimeAsync(1000);
    expect(tones).toHaveLength(2);
    usePrefs().toggleMuted();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(tones).toHaveLength(2);
    usePrefs().toggleMuted();
    counts.counts = { ...counts.counts, unacknowledged: none }; // acknowledged
    await vi.advanceTimersByTimeAsync(30_000);
    expect(tones).toHaveLength(2);
    counts.counts = { ...counts.counts, unacknowledged: { ...none, "1": 1 } };
    await vi.advanceTimersByTimeAsync(1000);
    expect(tones.slice(2)).toEqual([TONES["1"], TONES["1"]]); // P1: two beeps, higher
    host.unmount();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(tones).toHaveLength(4);
  });
});
