// The typed API client. `schema.d.ts` is generated at build time from the console's OpenAPI
// document (`bldgwatch openapi` → openapi.json → openapi-typescript), never committed: a
// renamed field or route in the Python API becomes a type error here.
import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type AlarmSummary = Schemas["AlarmSummary"];
export type AlarmDetail = Schemas["AlarmDetail"];
export type ReviewedAlarm = Schemas["ReviewedAlarm"];
export type WorkOrderSummary = Schemas["WorkOrderSummary"];
export type WorkOrderDetail = Schemas["WorkOrderDetail"];
export type Equipment = Schemas["Equipment"];
export type Site = Schemas["Site"];
export type Me = Schemas["Me"];
export type TokenPair = Schemas["TokenPair"];
export type LatestReadings = Schemas["LatestReadings"];
export type Readings = Schemas["Readings"];
export type TransitionRequest = Schemas["TransitionRequest"];
export type EquipmentHistory = Schemas["EquipmentHistoryOut"];
export type ListedPart = Schemas["ListedPart"];
export type MaintenanceKpis = Schemas["MaintenanceKpis"];

/** The UI's language for calls made outside the client (uploads, downloads). */
function languageHeaders(): Headers {
  const tag = language?.();
  return new Headers(tag ? { "Accept-Language": tag } : {});
}

/** A call made outside the client (uploads, downloads) with the bearer token and the UI's
 * language; a 401 renews the token once and repeats it, as the client's calls do. */
async function authorised(send: (headers: Headers) => Promise<Response>): Promise<Response> {
  const attempt = () => {
    const headers = languageHeaders();
    const token = tokens?.accessToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    return send(headers);
  };
  const response = await attempt();
  if (response.status !== 401 || !tokens || !(await tokens.renew())) return response;
  return attempt();
}

/** Send a multipart form (a file upload; POST unless told) with the bearer token; ApiError on failure. */
export async function upload(path: string, form: FormData, method: "POST" | "PUT" = "POST"): Promise<void> {
  const response = await authorised((headers) => globalThis.fetch(new Request(path, { method, body: form, headers })));
  if (!response.ok) throw ApiError.of(response.status, await response.json().catch(() => null));
}

/** A file the API serves behind the bearer token (an attachment, a round's photo). */
export async function fetchFile(path: string): Promise<Blob> {
  const response = await authorised((headers) => globalThis.fetch(new Request(path, { headers })));
  if (!response.ok) throw ApiError.of(response.status, await response.json().catch(() => null));
  return response.blob();
}

/** Fetch a file the API serves behind the bearer token and save it under `filename`. */
export async function download(path: string, filename: string): Promise<void> {
  const url = URL.createObjectURL(await fetchFile(path));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export type AlarmCounts = Schemas["AlarmCounts"];
export type AlarmHistoryItem = Schemas["AlarmHistoryItem"];
export type Preferences = Schemas["Preferences"];
export type CueSetting = Schemas["CueSetting"];
export type PointOut = Schemas["PointOut"];
export type LivenessOut = Schemas["LivenessOut"];

/** One rejected field of a problem document (`errors`): its name and what is wrong. */
export interface FieldProblem {
  name: string;
  detail: string;
}

function fieldProblems(body: unknown): FieldProblem[] {
  const errors = body && typeof body === "object" && "errors" in body ? body.errors : null;
  if (!Array.isArray(errors)) return [];
  return errors.flatMap((e: unknown) =>
    e && typeof e === "object" && "name" in e && "detail" in e && typeof e.name === "string" && typeof e.detail === "string"
      ? [{ name: e.name, detail: e.detail }]
      : [],
  );
}

/** A failed API call: the HTTP status, the problem document's `detail` and its rejected
 * fields (`errors`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors: FieldProblem[] = [],
  ) {
    super(detail);
    this.name = "ApiError";
  }

  static of(status: number, body: unknown): ApiError {
    const detail =
      body && typeof body === "object" && "detail" in body ? body.detail : null;
    if (typeof detail === "string") return new ApiError(status, detail, fieldProblems(body));
    if (Array.isArray(detail)) return new ApiError(status, JSON.stringify(detail));
    return new ApiError(status, `HTTP ${status}`);
  }
}

/** What the client needs from the session: the token, and a way to renew it. */
export interface TokenSource {
  accessToken(): string | null;
  /** Renew the access token; false when that is no longer possible (log in again). */
  renew(): Promise<boolean>;
  /** The session ended (renewal failed after a 401). */
  expired(): void;
}

let tokens: TokenSource | null = null;
/** Connect the client to the session (done once by the session store). */
export function useTokens(source: TokenSource | null): void {
  tokens = source;
}

const withBearer = (request: Request, token: string | null): Request => {
  if (token) request.headers.set("Authorization", `Bearer ${token}`);
  return request;
};

let language: (() => string) | null = null;

/** Send the UI's language with every call, so the server's texts come in it. */
export function useLanguage(source: (() => string) | null): void {
  language = source;
}

/** Accept-Language on every call: alarm texts, titles and problems come in the UI's language. */
const speaks: Middleware = {
  onRequest({ request }) {
    const tag = language?.();
    if (tag) request.headers.set("Accept-Language", tag);
    return request;
  },
};

const pending = new Map<string, Request>();

/** Bearer token on every call; a 401 renews the token once and repeats the call. */
const auth: Middleware = {
  onRequest({ request, schemaPath, id }) {
    if (schemaPath.startsWith("/api/auth/token") || schemaPath.startsWith("/api/auth/refresh")) {
      return request;
    }
    pending.set(id, request.clone());
    return withBearer(request, tokens?.accessToken() ?? null);
  },
  async onResponse({ response, id }) {
    const original = pending.get(id);
    pending.delete(id);
    if (response.status !== 401 || !original || !tokens) return response;
    if (!(await tokens.renew())) {
      tokens.expired();
      return response;
    }
    return fetch(withBearer(original, tokens.accessToken()));
  },
  onError({ id }) {
    pending.delete(id);
  },
};

export const api = createClient<paths>({
  baseUrl: "",
  // looked up at call time, so tests can stub the global fetch
  fetch: (request: Request) => globalThis.fetch(request),
});
api.use(speaks, auth);

/** The data of a call, or an ApiError with the server's reason. */
export async function call<T>(
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await request;
  if (!response.ok || data === undefined) throw ApiError.of(response.status, error);
  return data;
}

/** A message for the user from any thrown value. */
export function reason(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
