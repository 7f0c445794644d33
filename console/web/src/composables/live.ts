// Keep a view's data fresh: load on mount, reload (debounced) on live events the view cares
// about and after the stream lost events, and poll while the data is not live (the stream
// or the broker is down: events may not come, the database still answers); stop on unmount.
import { onBeforeUnmount, onMounted } from "vue";

import type { LiveEvent } from "@/api/live";
import { useLive } from "@/stores/live";
import { useStatus } from "@/stores/status";

const DEBOUNCE_MS = 150;
/** How often a view reloads while events cannot be trusted to come. */
export const POLL_WHEN_NOT_LIVE_MS = 5000;

export function useLiveRefresh(
  load: () => Promise<void>,
  wants: (event: LiveEvent) => boolean = () => true,
): { reload: () => void } {
  const live = useLive();
  const status = useStatus();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  let unsubscribe: (() => void) | null = null;

  // One load at a time: a reload asked for while one runs runs once after it, so an older
  // answer (slow under load) never lands after a newer one and shows a state already gone.
  let running = false;
  let again = false;
  const run = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    do {
      again = false;
      try {
        await load();
        status.updated();
      } catch (err: unknown) {
        status.failed(err);
      }
    } while (again);
    running = false;
  };
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), DEBOUNCE_MS);
  };

  onMounted(() => {
    unsubscribe = live.subscribe((message) => {
      if (message.kind === "reset" || wants(message)) reload();
    });
    void run();
    poll = setInterval(() => {
      if (!live.live) reload();
    }, POLL_WHEN_NOT_LIVE_MS);
  });
  onBeforeUnmount(() => {
    clearTimeout(timer);
    clearInterval(poll);
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
