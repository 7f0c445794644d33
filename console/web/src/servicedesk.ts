// The public repair-request pages (/r/<code>, /s/<token>): their calls and the proof of work.
// They are reached without an account, so they call the API with plain fetch: no bearer
// token, whoever else uses this browser (the session is neither needed nor sent).
import { sha256 } from "@noble/hashes/sha2.js";

import { ApiError, type Schemas } from "@/api/client";

export type PublicPoint = Schemas["PublicPoint"];
export type RequestStatus = Schemas["RequestStatusOut"];
export type Submitted = Schemas["Submitted"];
export type Challenge = Schemas["ChallengeOut"];

/** A challenge as the page holds it: `received` is when it came (the browser's clock, ms). */
export interface HeldChallenge {
  challenge: Challenge;
  received: number;
}

/** A 429: the server's limit, and how long to wait (its Retry-After, seconds). */
export class RetryLater extends ApiError {
  constructor(
    detail: string,
    readonly retryAfterS: number,
  ) {
    super(429, detail);
    this.name = "RetryLater";
  }

  /** The wait in whole minutes, at least one (what the page says). */
  get minutes(): number {
    return Math.max(1, Math.ceil(this.retryAfterS / 60));
  }
}

/** The categories a requester picks from (the server's list). */
export const CATEGORIES = ["water", "electrical", "elevator", "door", "other"] as const;

/** The progress steps in their order; declined and cancelled end the request early. */
export const STEPS = ["received", "accepted", "in_progress", "done"] as const;

async function answer<T>(response: Response): Promise<T> {
  const body: unknown = await response.json().catch(() => null);
  if (response.status === 429) {
    const wait = Number(response.headers.get("Retry-After"));
    throw new RetryLater(ApiError.of(429, body).detail, Number.isFinite(wait) && wait > 0 ? wait : 60);
  }
  if (!response.ok) throw ApiError.of(response.status, body);
  return body as T;
}

function headers(language: string): Headers {
  return new Headers({ "Accept-Language": language });
}

/** The point a QR code names, with a fresh challenge. */
export async function fetchPoint(code: string, language: string): Promise<PublicPoint> {
  const url = `/api/public/points/${encodeURIComponent(code)}`;
  return answer(await globalThis.fetch(url, { headers: headers(language), credentials: "omit" }));
}

/** Send the form (multipart: the photo is a file). */
export async function sendRequest(code: string, form: FormData, language: string): Promise<Submitted> {
  const url = `/api/public/points/${encodeURIComponent(code)}/requests`;
  const init: RequestInit = { method: "POST", body: form, headers: headers(language), credentials: "omit" };
  return answer(await globalThis.fetch(url, init));
}

/** Where a request stands. */
export async function fetchStatus(token: string, language: string): Promise<RequestStatus> {
  const url = `/api/public/requests/${encodeURIComponent(token)}`;
  return answer(await globalThis.fetch(url, { headers: headers(language), credentials: "omit" }));
}

/** The one rating after the repair. */
export async function sendRating(token: string, rating: number, comment: string, language: string): Promise<RequestStatus> {
  const url = `/api/public/requests/${encodeURIComponent(token)}/rating`;
  const head = headers(language);
  head.set("Content-Type", "application/json");
  const init: RequestInit = { method: "POST", body: JSON.stringify({ rating, comment }), headers: head, credentials: "omit" };
  return answer(await globalThis.fetch(url, init));
}

/** How many zero bits a digest starts with. */
export function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** A SHA-256 function. */
export type Digest = (data: Uint8Array<ArrayBuffer>) => Promise<Uint8Array>;

/** SHA-256 by WebCrypto where the page has it. `crypto.subtle` exists only in a secure context
 * (HTTPS, or the local machine): on plain HTTP at a LAN address @noble/hashes computes it. */
export function sha256Digest(subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle): Digest {
  if (subtle) return async (data) => new Uint8Array(await subtle.digest("SHA-256", data));
  return (data) => Promise.resolve(sha256(data));
}

const BATCH = 64;

/** The first counter n with SHA-256("challenge:n") starting with `difficulty` zero bits
 * (a batch of digests at a time). `progress` hears how many were tried. */
export async function solveChallenge(
  challenge: string,
  difficulty: number,
  progress?: (tried: number) => void,
  digest: Digest = sha256Digest(),
): Promise<string> {
  const encoder = new TextEncoder();
  for (let start = 0; ; start += BATCH) {
    const tries = Array.from({ length: BATCH }, (_, i) => start + i);
    const digests = await Promise.all(tries.map((n) => digest(encoder.encode(`${challenge}:${n}`))));
    const hit = digests.findIndex((d) => leadingZeroBits(d) >= difficulty);
    if (hit >= 0) return String(tries[hit]);
    progress?.(start + BATCH);
  }
}

/** Whether a held challenge is past half its validity (the page then fetches a fresh one
 * before the work: an owner may take long over the photo and the text). A browser clock
 * ahead of the server's only makes it fetch sooner; one behind is covered by the retry. */
export function stale(held: HeldChallenge, now = Date.now()): boolean {
  const validity = Date.parse(held.challenge.expires_at) - held.received;
  return now - held.received > validity / 2;
}

/** A fresh challenge for a point. */
export async function freshChallenge(code: string, language: string): Promise<HeldChallenge> {
  const point = await fetchPoint(code, language);
  return { challenge: point.challenge, received: Date.now() };
}

function proofRefused(err: unknown): boolean {
  return err instanceof ApiError && err.status === 400 && err.errors.some((e) => e.name === "solution");
}

/** Do the work and send the form: with a fresh challenge when the held one is stale, and once
 * more with a fresh one when the server refuses the proof (it expired meanwhile). `working`
 * hears when the work starts and ends. */
export async function solveAndSend(
  code: string,
  fields: FormData,
  language: string,
  held: HeldChallenge,
  working?: (on: boolean) => void,
): Promise<Submitted> {
  let using = stale(held) ? await freshChallenge(code, language) : held;
  for (let attempt = 0; ; attempt += 1) {
    const { challenge, difficulty } = using.challenge;
    working?.(true);
    const solution = await solveChallenge(challenge, difficulty);
    working?.(false);
    const body = new FormData();
    for (const [key, value] of fields) body.append(key, value);
    body.set("challenge", challenge);
    body.set("solution", solution);
    try {
      return await sendRequest(code, body, language);
    } catch (err) {
      if (attempt > 0 || !proofRefused(err)) throw err;
      using = await freshChallenge(code, language);
    }
  }
}

/** A phone number as the server accepts it (digits, spaces, dashes, brackets, a leading +). */
export function validPhone(phone: string): boolean {
  return /^\+?[0-9][0-9 ()-]{4,22}[0-9]$/.test(phone.trim());
}
