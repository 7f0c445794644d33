// Inspection rounds (巡检) on a phone: the queue of entries (and of photos, uploaded first) kept in the browser's storage while
// offline, every run's of the signed-in user sent when back online, in batches the server takes. Each entry carries the id the phone made (a
// UUID) and its time, so sending the queue again stores nothing twice on the server; an entry
// leaves the queue once the server answered it (stored, duplicate or refused with why).
// Everything kept is the signed-in user's (review 19b-r H1): a shared team phone (班组手机) never
// sends one technician's entries, scans or faults with the next user's token; they wait for
// their recorder to sign in again. Run ids are unique across sites, so a user's queue holds
// the runs of all their sites.
import { ApiError, type Schemas } from "@/api/client";

export type EntryBody = Schemas["EntryBody"];
export type EntryResult = Schemas["EntryResult"];
export type RoundRun = Schemas["RunOut"];

let owner: string | null = null;

/** Whose queue, kept runs and scanned codes are read and written: the signed-in user's name
 * (set by the session on sign-in and reload, null at logout). */
export function roundsOwner(name: string | null): void {
  owner = name;
}

/** The storage key of `name` for the signed-in user (throws when nobody is signed in). */
export function ownKey(name: string): string {
  if (owner === null) throw new Error("no signed-in user");
  return `bldgwatch.rounds.${encodeURIComponent(owner)}.${name}`;
}

type Queues = Record<string, EntryBody[]>;

function read(storage: Storage): Queues {
  if (owner === null) return {};
  try {
    const parsed: unknown = JSON.parse(storage.getItem(ownKey("queue")) ?? "{}");
    return parsed && typeof parsed === "object" ? (parsed as Queues) : {};
  } catch {
    return {};
  }
}

function write(all: Queues, storage: Storage, keep: number | null = null): void {
  store(ownKey("queue"), JSON.stringify(all), storage, keep);
}

/** The browser's storage is full even after dropping the kept runs nothing waits for: the
 * answer or scan was not kept, and the page says so (review 19c-r H2). */
export class StorageFull extends Error {
  constructor() {
    super("the browser's storage is full");
    this.name = "StorageFull";
  }
}

/** Write `value`; on the browser's quota drop the kept runs no longer needed (`pruneKept`,
 * never run `keep`) and try once more; StorageFull when it still does not fit. */
export function store(key: string, value: string, storage: Storage = localStorage, keep: number | null = null): void {
  try {
    storage.setItem(key, value);
  } catch {
    pruneKept(keep, storage);
    try {
      storage.setItem(key, value);
    } catch {
      throw new StorageFull();
    }
  }
}

/** Drop the signed-in user's kept runs and scanned codes that nothing waits for: no entry or
 * photo of the run is queued, and the run is done or its point missed (by this phone's
 * clock). Run `keep` (the page open now) stays. Every run ever opened stayed in the phone's
 * storage until the browser's quota refused the next answer (review 19c-r H2). Returns how
 * many runs were dropped. */
export function pruneKept(keep: number | null = null, storage: Storage = localStorage, now: number = Date.now()): number {
  if (owner === null) return 0;
  const prefix = ownKey("");
  const waiting = new Set([...Object.keys(read(storage)).map(Number), ...queuedPhotos(storage).map((p) => p.runId)]);
  const runs = new Set<number>();
  const currents: string[] = [];
  for (let n = 0; n < storage.length; n++) {
    const name = storage.key(n);
    if (!name?.startsWith(prefix)) continue;
    const match = /^(run|scans)\.(\d+)$/.exec(name.slice(prefix.length));
    if (match) runs.add(Number(match[2]));
    else if (name.slice(prefix.length).startsWith("current.")) currents.push(name);
  }
  let dropped = 0;
  for (const runId of runs) {
    if (runId === keep || waiting.has(runId)) continue;
    let kept: RoundRun | null = null;
    try {
      kept = keptRun(runId, storage);
    } catch {
      kept = null; // unreadable: nothing to keep
    }
    if (kept && !kept.done_at && stillOpen(kept, now)) continue;
    storage.removeItem(ownKey(`run.${runId}`));
    storage.removeItem(ownKey(`scans.${runId}`));
    dropped++;
    for (const current of currents) if (storage.getItem(current) === String(runId)) storage.removeItem(current);
  }
  return dropped;
}

/** How many entries of all the signed-in user's runs wait to be sent. */
export function waitingAll(storage: Storage = localStorage): number {
  return Object.values(read(storage)).reduce((n, entries) => n + entries.length, 0);
}

/** The entries of a run waiting to be sent, oldest first. */
export function queued(runId: number, storage: Storage = localStorage): EntryBody[] {
  return read(storage)[String(runId)] ?? [];
}

/** Keep an entry until the server answers it; StorageFull when the browser has no room. */
export function enqueue(runId: number, entry: EntryBody, storage: Storage = localStorage): void {
  const all = read(storage);
  all[String(runId)] = [...(all[String(runId)] ?? []), entry];
  write(all, storage, runId); // StorageFull when the browser's storage has no room
}

/** Drop the answered entries from the queue; the refused ones are given back (to show why). */
export function settle(runId: number, results: EntryResult[], storage: Storage = localStorage): EntryResult[] {
  const answered = new Set(results.map((r) => r.id));
  const all = read(storage);
  const left = (all[String(runId)] ?? []).filter((e) => !answered.has(e.id));
  if (left.length) all[String(runId)] = left;
  else delete all[String(runId)];
  write(all, storage);
  return results.filter((r) => r.status === "refused");
}

/** At most this many entries go in one request: the server's limit of a batch. */
export const BATCH = 200;

/** An entry the server refused, with its run and why. */
export interface Refusal {
  runId: number;
  entry: EntryBody;
  result: EntryResult;
}

/** Whether the server refused a run's request as a whole (the run gone or not the user's,
 * a body it cannot take): its entries can never be sent as they are. Not for a lapsed login
 * (401), a timeout (408) or a busy server (429, 5xx): those are tried again later. */
function refusedWhole(err: unknown): err is ApiError {
  return err instanceof ApiError && err.status >= 400 && err.status < 500 && ![401, 408, 429].includes(err.status);
}

/** Send every run's queue of the signed-in user, oldest entries first and at most `BATCH` to a
 * request: a phone that went offline during one run and opens the next later still delivers
 * the first's (review 19r H1, H2). A run the server refuses as a whole (404: gone, or not this
 * user's any more) gives its entries back refused with the reason and the others go on
 * (review 19b-r H1); a failed send (offline, 5xx) keeps what is left for the next try and throws. */
export async function flushAll(
  send: (runId: number, entries: EntryBody[]) => Promise<EntryResult[]>,
  storage: Storage = localStorage,
): Promise<Refusal[]> {
  const refusals: Refusal[] = [];
  for (const runId of Object.keys(read(storage)).map(Number)) {
    try {
      for (let entries = queued(runId, storage); entries.length; entries = queued(runId, storage)) {
        const batch = entries.slice(0, BATCH);
        const byId = new Map(batch.map((e) => [e.id, e]));
        for (const result of settle(runId, await send(runId, batch), storage)) {
          const entry = byId.get(result.id);
          if (entry) refusals.push({ runId, entry, result });
        }
      }
    } catch (err) {
      if (!refusedWhole(err)) throw err;
      const problem = { title: err.detail, status: err.status, detail: err.detail };
      const entries = queued(runId, storage);
      refusals.push(...entries.map((entry) => ({ runId, entry, result: { id: entry.id, status: "refused" as const, problem } })));
      settle(runId, entries.map((e) => ({ id: e.id, status: "refused" as const })), storage);
    }
  }
  return refusals;
}

/** Keep the application for use without a network (the service worker built from
 * shell/sw.js): registered when a round is opened, so the round page reloads offline after it
 * was opened once online; desks that never open a round do not download it. Browsers offer
 * service workers on https and localhost only. */
export function keepOffline(): void {
  if (!import.meta.env.PROD || !("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js").catch((err: unknown) => console.warn("no offline application:", err));
}


/** The most photos the queue holds, and the most characters of their data URLs: a photo
 * scaled to `PHOTO_SIDE` is ~100–300 kB (a third more as text), and a browser gives an origin
 * ~5 MB of storage, which the entries and the kept runs share. */
export const PHOTO_QUEUE = { count: 8, chars: 3_000_000 };
/** The longest side of a photo as the phone keeps and sends it, pixels. */
export const PHOTO_SIDE = 1280;

/** A photo waiting to be uploaded: its id (what its entry's value names), run and JPEG as a data URL. */
export interface QueuedPhoto {
  id: string;
  runId: number;
  data: string;
}

/** The photos waiting to be uploaded, oldest first. */
export function queuedPhotos(storage: Storage = localStorage): QueuedPhoto[] {
  if (owner === null) return []; // the signed-in user's photos only (review 19b-r H1)
  try {
    const parsed: unknown = JSON.parse(storage.getItem(ownKey("photos")) ?? "[]");
    return Array.isArray(parsed) ? (parsed as QueuedPhoto[]) : [];
  } catch {
    return [];
  }
}

/** Keep a photo until it is uploaded; false when the queue is full (`PHOTO_QUEUE`, or the
 * browser's storage): then the photo is not taken. */
export function enqueuePhoto(photo: QueuedPhoto, storage: Storage = localStorage): boolean {
  const all = [...queuedPhotos(storage), photo];
  if (all.length > PHOTO_QUEUE.count || all.reduce((n, p) => n + p.data.length, 0) > PHOTO_QUEUE.chars) return false;
  try {
    storage.setItem(ownKey("photos"), JSON.stringify(all));
  } catch {
    return false; // the browser's quota
  }
  return true;
}

function dropPhoto(id: string, storage: Storage): void {
  storage.setItem(ownKey("photos"), JSON.stringify(queuedPhotos(storage).filter((p) => p.id !== id)));
}

/** A photo the server refused (not a photo, too large, another run's id): its entry will be refused too. */
export interface PhotoRefusal {
  photo: QueuedPhoto;
  error: unknown;
}

/** Upload every queued photo, oldest first, before any entry is sent (an entry names its
 * photo, which must be on the server first). `refused(err)` tells a refusal of the photo
 * itself (dropped and given back) from a failure to reach the server (stops and throws; the
 * rest stays queued). Uploading again is harmless: the server keeps a photo once per id. */
export async function flushPhotos(
  send: (photo: QueuedPhoto) => Promise<void>,
  refused: (err: unknown) => boolean,
  storage: Storage = localStorage,
): Promise<PhotoRefusal[]> {
  const refusals: PhotoRefusal[] = [];
  for (const photo of queuedPhotos(storage)) {
    try {
      await send(photo);
    } catch (error) {
      if (!refused(error)) throw error;
      refusals.push({ photo, error });
    }
    dropPhoto(photo.id, storage);
  }
  return refusals;
}

/** The bytes of a data URL, as a file to upload. */
export function blobOf(dataUrl: string): Blob {
  const [head = "", body = ""] = dataUrl.split(",", 2);
  const type = /^data:([^;,]+)/.exec(head)?.[1] ?? "application/octet-stream";
  const text = atob(body);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new Blob([bytes], { type });
}

/** The photo scaled so its longest side is at most `side` pixels, as a JPEG data URL (the
 * server re-encodes it again and keeps no metadata). */
export async function scaledPhoto(file: Blob, side = PHOTO_SIDE, quality = 0.8): Promise<string> {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const context = canvas.getContext("2d");
  if (!context) throw new Error("no canvas");
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return canvas.toDataURL("image/jpeg", quality);
}

/** The code of a scanned QR label: the last part of its URL (…/r/<code>), or the text typed;
 * "" for a link that is no equipment label (a WeChat QR beside the panel: review 19b-r L1).
 * Whether the code is this stop's equipment's the server says: the route a phone gets never
 * carries the codes, so a label cannot be made up from the page. */
export function codeOf(scanned: string): string {
  const text = scanned.trim();
  const match = /\/r\/([^/?#\s]+)/.exec(text);
  if (match?.[1]) return decodeURIComponent(match[1]);
  return /^[a-z][a-z0-9+.-]*:/i.test(text) ? "" : text;
}

/** A random UUID (v4), also on plain HTTP where `crypto.randomUUID` is missing. */
export function newEntryId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The run as last loaded, so a page reopened offline still shows its stops. */
export function keepRun(run: RoundRun, storage: Storage = localStorage, now: number = Date.now()): void {
  pruneKept(run.id, storage, now);
  try {
    store(ownKey(`run.${run.id}`), JSON.stringify(run), storage, run.id);
  } catch {
    // no room even so: the page works online; the answers and scans are what must be kept
  }
}

/** Keep the codes scanned on a run (StorageFull when the browser has no room). */
export function keepScans(runId: number, scans: Record<number, string>, storage: Storage = localStorage): void {
  store(ownKey(`scans.${runId}`), JSON.stringify(scans), storage, runId);
}

export function keptRun(runId: number, storage: Storage = localStorage): RoundRun | null {
  const text = storage.getItem(ownKey(`run.${runId}`));
  return text ? (JSON.parse(text) as RoundRun) : null;
}

/** Whether a kept run is still of the due point open now (by this phone's clock): until its
 * point is missed it is the run the server would give; after, the point due now is another
 * one (review 19b-r L8). A run kept before the server said when (no `missed_at`) is not. */
export function stillOpen(kept: RoundRun, now: number = Date.now()): boolean {
  const missed = (kept as Partial<RoundRun>).missed_at;
  return missed !== undefined && now <= Date.parse(missed);
}

/** The rounds list as last loaded online (review 19b-r M3): what a technician in a basement
 * sees when the list cannot be loaded, with when it was loaded. */
export interface KeptList {
  at: string;
  sites: Schemas["Site"][];
  site: string;
  rounds: Schemas["RoundOut"][];
}

export function keepList(list: KeptList, storage: Storage = localStorage): void {
  try {
    storage.setItem(ownKey("list"), JSON.stringify(list));
  } catch {
    // the browser's quota: the entries and photos matter more than the list
  }
}

export function keptList(storage: Storage = localStorage): KeptList | null {
  const text = storage.getItem(ownKey("list"));
  return text ? (JSON.parse(text) as KeptList) : null;
}

/** Whether a manual reading and the live value differ by more than the item's tolerance. */
export function disagrees(manual: number | null, live: number | null | undefined, tolerance: number | null | undefined): boolean {
  if (manual === null || live === null || live === undefined || tolerance === null || tolerance === undefined) return false;
  return Math.abs(manual - live) > tolerance;
}
