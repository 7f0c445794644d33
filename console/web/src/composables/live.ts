// Keep a view's data fresh: load on mount, reload (debounced) on live events the view cares
// about and after the stream lost events, stop on unmount.
import { onBeforeUnmount, onMounted } from "vue";

import type { LiveEvent } from "@/api/live";
import { useLive } from "@/stores/live";
import { useStatus } from "@/stores/status";

const DEBOUNCE_MS = 150;

export function useLiveRefresh(
  load: () => Promise<void>,
  wants: (event: LiveEvent) => boolean = () => true,
): { reload: () => void } {
  const live = useLive();
  const status = useStatus();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let unsubscribe: (() => void) | null = null;

  const run = () =>
    load()
      .then(() => status.updated())
      .catch((err: unknown) => status.failed(err));
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), DEBOUNCE_MS);
  };

  onMounted(() => {
    unsubscribe = live.subscribe((message) => {
      if (message.kind === "reset" || wants(message)) reload();
    });
    void run();
  });
  onBeforeUnmount(() => {
    clearTimeout(timer);
    unsubscribe?.();
  });
  return { reload };
}

/** Run `tick` every `ms` while the component is mounted (the board's readings). */
export function useInterval(tick: () => void, ms: number): void {
  let timer: ReturnType<typeof setInterval> | undefined;
  onMounted(() => {
    timer = setInterval(tick, ms);
  });
  onBeforeUnmount(() => clearInterval(timer));
}
