// The audible cue: while alarms of a priority wait unacknowledged, a tone of that priority
// repeats every `every_s` (the user's setting per priority, /api/preferences) until they are
// acknowledged; muted, nothing sounds (the header says so). Higher priorities sound higher.
import { onBeforeUnmount } from "vue";

import type { CueSetting } from "@/api/client";
import { PRIORITIES, useCounts } from "@/stores/counts";
import { usePrefs } from "@/stores/prefs";

/** Tone of each priority, Hz: P1 highest. */
export const TONES: Record<string, number> = { "1": 1046, "2": 880, "3": 660, "4": 523 };
const CHECK_MS = 1000;

let audio: AudioContext | null = null;

/** Play one priority's tone once (two short beeps for P1). */
export function playCue(priority: string): void {
  try {
    audio ??= new AudioContext();
    const beeps = priority === "1" ? 2 : 1;
    for (let i = 0; i < beeps; i++) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = TONES[priority] ?? 880;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      const start = audio.currentTime + i * 0.35;
      osc.start(start);
      osc.stop(start + 0.25);
    }
  } catch {
    // no audio output: the flashing rows and the title still tell
  }
}

/** The priorities whose tone is due at `nowMs` (pure: the rule, tested on its own). */
export function dueCues(
  waiting: Record<string, number>,
  cue: Record<string, CueSetting>,
  lastPlayed: Record<string, number>,
  nowMs: number,
  muted: boolean,
): string[] {
  if (muted) return [];
  const due = PRIORITIES.filter((p) => {
    const setting = cue[p];
    if (!setting?.sound || !(waiting[p] ?? 0)) return false;
    const last = lastPlayed[p];
    return last === undefined || nowMs - last >= setting.every_s * 1000;
  });
  return due.slice(0, 1); // the most urgent only: one tone at a time
}

/** Sound the cue while alarms wait, until they are acknowledged or the user mutes. */
export function useAlarmCue(): void {
  const prefs = usePrefs();
  const counts = useCounts();
  const lastPlayed: Record<string, number> = {};
  const timer = setInterval(() => {
    const waiting = counts.counts.unacknowledged;
    for (const p of PRIORITIES) if (!(waiting[p] ?? 0)) delete lastPlayed[p]; // next one sounds at once
    for (const p of dueCues(waiting, prefs.cue, lastPlayed, Date.now(), prefs.muted)) {
      lastPlayed[p] = Date.now();
      playCue(p);
    }
  }, CHECK_MS);
  onBeforeUnmount(() => clearInterval(timer));
}
