// The live stream's connection: one WebSocket per signed-in tab, resumed from the last event
// id after a drop (the server replays what was missed, or says it cannot and views reload),
// reconnected with exponential backoff, the token renewed before each retry. Views subscribe
// to messages with `useLiveRefresh` (composables/live.ts).
//
// "Live" is not "the socket is open": the console sends a heartbeat saying whether its
// broker connection is up and how old the newest data of my sites is; live means a recent
// heartbeat (the stream works), the broker up and the data fresh. Anything else is "not
// live", with why.
import { defineStore } from "pinia";
import { computed, ref } from "vue";

import { liveUrl, parseLive, type Beat, type LiveMessage } from "@/api/live";

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;
/** No heartbeat for this long: the stream itself is gone, whatever the socket says. */
export const BEAT_LOST_MS = 8000;
const CLOCK_MS = 1000;
/** The console's close code when this user already holds as many streams as it may (tabs). */
export const TOO_MANY_STREAMS = 4429;
/** How long to wait before asking again after that refusal (another tab may have closed). */
export const REFUSED_RETRY_MS = 60000;

export type LiveHandler = (message: LiveMessage) => void;

export interface LiveOptions {
  token: () => string | null;
  renew: () => Promise<boolean>;
}

/** Why the data is not live (or "live"). */
export type LiveState = "live" | "connecting" | "refused" | "stream" | "broker" | "stale";

export const useLive = defineStore("live", () => {
  const connected = ref(false);
  const lastEventId = ref<number | null>(null);
  const lastEventAt = ref<Date | null>(null);
  const beat = ref<Beat | null>(null);
  const beatAt = ref<number | null>(null);
  /** The console refused the stream: too many open (in other tabs or windows). */
  const refused = ref(false);
  const now = ref(Date.now());
  const handlers = new Set<LiveHandler>();
  let socket: WebSocket | null = null;
  let retryMs = FIRST_RETRY_MS;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let clock: ReturnType<typeof setInterval> | undefined;
  let options: LiveOptions | null = null;

  const state = computed<LiveState>(() => {
    if (refused.value) return "refused";
    if (!connected.value && beatAt.value === null) return "connecting";
    if (!connected.value || beatAt.value === null || now.value - beatAt.value > BEAT_LOST_MS) return "stream";
    if (!beat.value?.broker) return "broker";
    if (!beat.value.fresh) return "stale";
    return "live";
  });
  const live = computed(() => state.value === "live");
  /** Seconds since the newest data of my sites arrived, as of the last heartbeat. */
  const dataAge = computed(() => beat.value?.newest_age_s ?? null);

  function emit(message: LiveMessage): void {
    for (const handler of handlers) handler(message);
  }

  function onText(text: string): void {
    const msg = parseLive(text);
    if (msg === null) return;
    if (msg.kind === "liveness") {
      beat.value = msg;
      beatAt.value = Date.now();
      return;
    }
    if (msg.kind === "hello") {
      refused.value = false;
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
      ws.send(JSON.stringify({ liveness: true })); // ask for the heartbeat
    };
    ws.onmessage = (event: MessageEvent) => {
      if (typeof event.data === "string") onText(event.data);
    };
    ws.onclose = (event: { code: number }) => {
      if (socket !== ws) return; // closed on purpose
      connected.value = false;
      socket = null;
      refused.value = event.code === TOO_MANY_STREAMS;
      retryTimer = setTimeout(
        () => {
          void options
            ?.renew()
            .catch(() => false)
            .then(open);
        },
        refused.value ? REFUSED_RETRY_MS : retryMs,
      );
      if (!refused.value) retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    };
  }

  /** Connect (again) with this token source; a previous connection is dropped. */
  function connect(source: LiveOptions): void {
    disconnect();
    options = source;
    clock = setInterval(() => (now.value = Date.now()), CLOCK_MS);
    open();
  }

  function disconnect(): void {
    clearTimeout(retryTimer);
    clearInterval(clock);
    options = null;
    const ws = socket;
    socket = null;
    connected.value = false;
    refused.value = false;
    beat.value = null;
    beatAt.value = null;
    ws?.close();
  }

  /** Call `handler` for every message until the returned function is called. */
  function subscribe(handler: LiveHandler): () => void {
    handlers.add(handler);
    return () => handlers.delete(handler);
  }

  return { connected, refused, lastEventId, lastEventAt, beat, state, live, dataAge, connect, disconnect, subscribe };
});
