// The public repair-request pages (/r/<code>, /s/<token>): their calls and the proof of work.
// They are reached without an account, so they call the API with plain fetch: no bearer
// token, whoever else uses this browser (the session is neither needed nor sent).
import { ApiError, type Schemas } from "@/api/client";

export type PublicPoint = Schemas["PublicPoint"];
export type RequestStatus = Schemas["RequestStatusOut"];
export type Submitted = Schemas["Submitted"];

/** The categories a requester picks from (the server's list). */
export const CATEGORIES = ["water", "electrical", "elevator", "door", "other"] as const;

/** The progress steps in their order; declined and cancelled end the request early. */
export const STEPS = ["received", "accepted", "in_progress", "done"] as const;

async function answer<T>(response: Response): Promise<T> {
  const body: unknown = await response.json().catch(() => null);
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

const BATCH = 64;

/** The first counter n with SHA-256("challenge:n") starting with `difficulty` zero bits
 * (WebCrypto; a batch of digests at a time). `progress` hears how many were tried. */
export async function solveChallenge(
  challenge: string,
  difficulty: number,
  progress?: (tried: number) => void,
): Promise<string> {
  const encoder = new TextEncoder();
  for (let start = 0; ; start += BATCH) {
    const tries = Array.from({ length: BATCH }, (_, i) => start + i);
    const digests = await Promise.all(
      tries.map((n) => globalThis.crypto.subtle.digest("SHA-256", encoder.encode(`${challenge}:${n}`))),
    );
    const hit = digests.findIndex((d) => leadingZeroBits(new Uint8Array(d)) >= difficulty);
    if (hit >= 0) return String(tries[hit]);
    progress?.(start + BATCH);
  }
}

/** A phone number as the server accepts it (digits, spaces, dashes, brackets, a leading +). */
export function validPhone(phone: string): boolean {
  return /^\+?[0-9][0-9 ()-]{4,22}[0-9]$/.test(phone.trim());
}
