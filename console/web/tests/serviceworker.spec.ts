import { readFileSync } from "node:fs";
import { runInNewContext } from "node:vm";

import { describe, expect, it } from "vitest";

/** The service worker's fetch handler, run with a fake cache (the kept page) and network. */
function worker(network: () => Promise<Response>): (url: string) => Promise<Response> {
  const source = readFileSync("shell/sw.js", "utf8")
    .replace('"__SHELL_VERSION__"', '"test"')
    .replace("__SHELL_FILES__", '["/assets/app.js"]');
  const handlers: Record<string, (event: unknown) => void> = {};
  const scope = { location: { origin: "https://console.test" }, addEventListener: (name: string, fn: (event: unknown) => void) => (handlers[name] = fn) };
  const caches = { open: () => Promise.resolve({ match: () => Promise.resolve(new Response("<div id=app>kept</div>", { headers: { "content-type": "text/html" } })) }) };
  runInNewContext(source, { self: scope, caches, fetch: network, URL, Response, setTimeout, Promise });
  return (url) =>
    new Promise((resolve) => {
      handlers.fetch?.({ request: { method: "GET", url, mode: "navigate" }, respondWith: (answer: Promise<Response>) => resolve(answer) });
    });
}

describe("the service worker's page (review 19c-r M7)", () => {
  it("serves the kept page when a proxy answers 502 or redirects to a Wi-Fi login", async () => {
    const badGateway = worker(() => Promise.resolve(new Response("<h1>502 Bad Gateway</h1>nginx", { status: 502, headers: { "content-type": "text/html" } })));
    expect(await (await badGateway("https://console.test/rounds/11/run")).text()).toContain("kept");
    const portal = worker(() => Promise.resolve(Response.redirect("https://wifi.test/login", 302)));
    expect(await (await portal("https://console.test/rounds/11/run")).text()).toContain("kept");
  });

  it("takes the application's page from the network when it answers", async () => {
    const up = worker(() => Promise.resolve(new Response("<div id=app>new build</div>", { headers: { "content-type": "text/html; charset=utf-8" } })));
    expect(await (await up("https://console.test/rounds/11/run")).text()).toContain("new build");
  });
});
