// Open alarms by priority and state (/api/alarms/counts): the banner of the alarm console,
// the page title and the audible cue all read it. Reloaded on live alarm events, and every
// few seconds while the data is not live.
import { defineStore } from "pinia";
import { computed, ref } from "vue";

import { api, call, type AlarmCounts } from "@/api/client";

export const PRIORITIES = ["1", "2", "3", "4"] as const;

const EMPTY: AlarmCounts = {
  total: 0,
  by_priority: { "1": 0, "2": 0, "3": 0, "4": 0 },
  by_state: {},
  unacknowledged: { "1": 0, "2": 0, "3": 0, "4": 0 },
};

export const useCounts = defineStore("counts", () => {
  const counts = ref<AlarmCounts>(EMPTY);
  const loaded = ref(false);

  /** Alarms waiting for an operator (active or returned, unacknowledged). */
  const waiting = computed(() => PRIORITIES.reduce((n, p) => n + (counts.value.unacknowledged[p] ?? 0), 0));

  async function load(): Promise<void> {
    counts.value = await call(api.GET("/api/alarms/counts"));
    loaded.value = true;
  }

  function clear(): void {
    counts.value = EMPTY;
    loaded.value = false;
  }

  return { counts, loaded, waiting, load, clear };
});
