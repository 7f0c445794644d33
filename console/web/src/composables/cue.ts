// The audible cue: a tone when a critical alarm arrives unacknowledged, unless muted.
import { onBeforeUnmount } from "vue";

import type { LiveMessage } from "@/api/live";
import { useLive } from "@/stores/live";
import { usePrefs } from "@/stores/prefs";

/** Whether a live message calls for the cue. */
export function needsCue(message: LiveMessage): boolean {
  if (message.kind !== "alarm") return false;
  const { severity, state, transition } = message.data;
  return severity === "critical" && state === "active_unack" && transition !== "acknowledge";
}

let audio: AudioContext | null = null;

/** Play the tone once. */
export function playCue(): void {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.6);
  } catch {
    // no audio output: the flashing row still tells
  }
}

/** Play the cue for live messages that need it while the user has not muted it. */
export function useAlarmCue(): void {
  const prefs = usePrefs();
  const stop = useLive().subscribe((message) => {
    if (!prefs.muted && needsCue(message)) playCue();
  });
  onBeforeUnmount(stop);
}
