// Shared set-up of the component tests: a fresh Pinia, the catalogue, a memory router, and a
// fetch stub that answers API calls from a table.
import { createPinia, setActivePinia, type Pinia } from "pinia";
import { vi } from "vitest";
import { createMemoryHistory, createRouter, type Router } from "vue-router";

import { makeI18n, type AppI18n, type Locale } from "@/i18n";
import { routes } from "@/router";
import { bindLocale, usePrefs } from "@/stores/prefs";

export interface Harness {
  pinia: Pinia;
  i18n: AppI18n;
  router: Router;
  plugins: [Pinia, AppI18n, Router];
}

export function harness(locale: Locale = "zh-CN"): Harness {
  const pinia = createPinia();
  setActivePinia(pinia);
  usePrefs().locale = locale;
  const i18n = makeI18n(locale);
  bindLocale(i18n);
  const router = createRouter({ history: createMemoryHistory(), routes });
  return { pinia, i18n, router, plugins: [pinia, i18n, router] };
}

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  headers: Headers;
}

/** A JSON body, a Response, or a function of the call giving either. */
type Answer = unknown;

/** Stub `fetch`: `answers["GET /api/alarms"]` is the JSON (or a function of the call). */
export function stubApi(answers: Record<string, Answer>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request) => {
      const url = new URL(input.url, "http://localhost");
      const text = input.method === "GET" ? "" : await input.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const call = { method: input.method, path: url.pathname, query: url.searchParams, body, headers: input.headers };
      calls.push(call);
      const answer = answers[`${input.method} ${url.pathname}`];
      if (answer === undefined) return json({ detail: `no stub for ${input.method} ${url.pathname}` }, 404);
      const value = typeof answer === "function" ? (answer as (c: Call) => unknown)(call) : answer;
      return value instanceof Response ? value : json(value);
    }),
  );
  return calls;
}

export function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { "Content-Type": "application/json" } });
}

export function page<T>(items: T[]) {
  return { items, total: items.length, limit: 50, offset: 0 };
}

/** A WebSocket the test drives: `open()`, `send(message)` from the server, `drop()`. */
export class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  open(): void {
    this.onopen?.();
  }
  /** A message from the server (the client's own sends are not recorded here). */
  send(message: object | string): void {
    if (typeof message === "string") return; // what the page sends to the server
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  /** The connection ends (1006: dropped; or the server's close code and reason). */
  drop(code = 1006, reason = ""): void {
    this.onclose?.({ code, reason });
  }
  close(): void {
    this.closed = true;
  }
}
