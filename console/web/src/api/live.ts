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

/** What views are told: an event, or "reload everything" after events were lost. */
export type LiveMessage = LiveEvent | { kind: "reset" };

export function parseLive(text: string): LiveEvent | Hello | null {
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
