// The live stream (`/api/live`, a WebSocket): its messages are not in the OpenAPI document,
// so their shape is written here (see console/routers/live.py and console/live.py).

export type LiveKind = "alarm" | "work_order" | "equipment";

/** A numbered event of the stream. */
export interface LiveEvent {
  id: number;
  kind: LiveKind;
  site: string;
  data: Record<string, unknown>;
}

/** The first message after connecting: the newest id, and whether a resume was complete. */
export interface Hello {
  kind: "hello";
  last_id: number;
  complete: boolean;
}

/** The console's heartbeat (every `live.heartbeat_s`): is the data of my sites fresh? */
export interface Beat {
  kind: "liveness";
  at: string;
  broker: boolean;
  fresh: boolean;
  newest_age_s: number | null;
  stale_after_s: number;
  gateways_offline: number;
  devices_silent: number;
}

/** What views are told: an event, or "reload everything" after events were lost. */
export type LiveMessage = LiveEvent | { kind: "reset" };

function parseBeat(msg: Record<string, unknown>): Beat | null {
  if (typeof msg.broker !== "boolean" || typeof msg.fresh !== "boolean") return null;
  const num = (v: unknown) => (typeof v === "number" ? v : null);
  return {
    kind: "liveness",
    at: typeof msg.at === "string" ? msg.at : "",
    broker: msg.broker,
    fresh: msg.fresh,
    newest_age_s: num(msg.newest_age_s),
    stale_after_s: num(msg.stale_after_s) ?? 30,
    gateways_offline: num(msg.gateways_offline) ?? 0,
    devices_silent: num(msg.devices_silent) ?? 0,
  };
}

export function parseLive(text: string): LiveEvent | Hello | Beat | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!value || typeof value !== "object") return null;
  const msg = value as Record<string, unknown>;
  if (msg.kind === "hello" && typeof msg.last_id === "number") {
    return { kind: "hello", last_id: msg.last_id, complete: msg.complete === true };
  }
  if (msg.kind === "liveness") return parseBeat(msg);
  if (
    typeof msg.id === "number" &&
    (msg.kind === "alarm" || msg.kind === "work_order" || msg.kind === "equipment") &&
    typeof msg.site === "string"
  ) {
    const data = msg.data && typeof msg.data === "object" ? (msg.data as Record<string, unknown>) : {};
    return { id: msg.id, kind: msg.kind, site: msg.site, data };
  }
  return null;
}

/** The stream's URL for a token, resuming after `lastEventId` when given. */
export function liveUrl(location: Location, token: string, lastEventId: number | null): string {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const query = new URLSearchParams({ access_token: token });
  if (lastEventId !== null) query.set("last_event_id", String(lastEventId));
  return `${proto}://${location.host}/api/live?${query.toString()}`;
}
