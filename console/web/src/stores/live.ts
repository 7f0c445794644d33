// The live stream's connection: one WebSocket per signed-in tab, resumed from the last event
// id after a drop (the server replays what was missed, or says it cannot and views reload),
// reconnected with exponential backoff, the token renewed before each retry. Views subscribe
// to messages with `useLiveRefresh` (composables/live.ts).
import { defineStore } from "pinia";
import { ref } from "vue";

import { liveUrl, parseLive, type LiveMessage } from "@/api/live";

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;

export type LiveHandler = (message: LiveMessage) => void;

export interface LiveOptions {
  token: () => string | null;
  renew: () => Promise<boolean>;
}

export const useLive = defineStore("live", () => {
  const connected = ref(false);
  const lastEventId = ref<number | null>(null);
  const lastEventAt = ref<Date | null>(null);
  const handlers = new Set<LiveHandler>();
  let socket: WebSocket | null = null;
  let retryMs = FIRST_RETRY_MS;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let options: LiveOptions | null = null;

  function emit(message: LiveMessage): void {
    for (const handler of handlers) handler(message);
  }

  function onText(text: string): void {
    const msg = parseLive(text);
    if (msg === null) return;
    if (msg.kind === "hello") {
      const resumed = lastEventId.value !== null;
      if (!resumed || !msg.complete) lastEventId.value = msg.last_id;
      if (resumed && !msg.complete) emit({ kind: "reset" });
      return;
    }
    lastEventId.value = msg.id;
    lastEventAt.value = new Date();
    emit(msg);
  }

  function open(): void {
    const token = options?.token();
    if (!options || !token) return;
    const ws = new WebSocket(liveUrl(window.location, token, lastEventId.value));
    socket = ws;
    ws.onopen = () => {
      retryMs = FIRST_RETRY_MS;
      connected.value = true;
    };
    ws.onmessage = (event: MessageEvent) => {
      if (typeof event.data === "string") onText(event.data);
    };
    ws.onclose = () => {
      if (socket !== ws) return; // closed on purpose
      connected.value = false;
      socket = null;
      retryTimer = setTimeout(() => {
        void options
          ?.renew()
          .catch(() => false)
          .then(open);
      }, retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    };
  }

  /** Connect (again) with this token source; a previous connection is dropped. */
  function connect(source: LiveOptions): void {
    disconnect();
    options = source;
    open();
  }

  function disconnect(): void {
    clearTimeout(retryTimer);
    options = null;
    const ws = socket;
    socket = null;
    connected.value = false;
    ws?.close();
  }

  /** Call `handler` for every message until the returned function is called. */
  function subscribe(handler: LiveHandler): () => void {
    handlers.add(handler);
    return () => handlers.delete(handler);
  }

  return { connected, lastEventId, lastEventAt, connect, disconnect, subscribe };
});
