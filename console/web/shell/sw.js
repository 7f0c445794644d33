// The console's service worker (built by `npm run build` into dist/sw.js, the file list and
// version filled in from the build): once a page was opened online, the application itself
// (index.html and the built assets) loads without a network, so a technician's inspection
// round reopens offline. It caches the application only: API calls (`/api/…`), the docs and
// everything else go to the network untouched, never answered from a cache — a round's run and
// its waiting entries are kept by the page itself (`src/rounds.ts`, localStorage).
const VERSION = "__SHELL_VERSION__";
const FILES = __SHELL_FILES__;
const CACHE = `bldgwatch-shell-${VERSION}`;
/** The application page: served for every page path, kept as loaded from "/". */
const PAGE = "/";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll([PAGE, ...FILES]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("bldgwatch-shell-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

/** Where a request of the page goes: the cached application, or nowhere (the network). */
function shellRequest(request) {
  if (request.method !== "GET") return null;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return null;
  if (request.mode === "navigate" && !/^\/(api|docs|redoc|openapi\.json|healthz|metrics|vendor)(\/|$)/.test(url.pathname)) {
    return "page";
  }
  return FILES.includes(url.pathname) ? "file" : null;
}

/** Whether a network answer to a navigation is the application's page: a 2xx HTML answer. */
function appPage(answer) {
  return answer.ok && (answer.headers.get("content-type") ?? "").startsWith("text/html");
}

/** How long a navigation waits for the network before the kept page is served. */
const PAGE_WAIT_MS = 3500;

self.addEventListener("fetch", (event) => {
  const kind = shellRequest(event.request);
  if (kind === "page") {
    // the network first (a new build is picked up at once), the kept page when offline or
    // when the network does not answer within PAGE_WAIT_MS (one bar in a basement: a link that
    // connects and never answers; review 19b-r M8)
    // Only the application's own page is taken from the network: a proxy's "502 Bad Gateway"
    // while the console is down, or a redirect to a Wi-Fi login, is not the page, and the kept
    // one is served instead (review 19c-r M7); with none kept, the network's answer is shown.
    const kept = () => caches.open(CACHE).then((cache) => cache.match(PAGE));
    const slow = new Promise((resolve) => setTimeout(resolve, PAGE_WAIT_MS)).then(kept);
    const network = fetch(event.request).then((answer) =>
      appPage(answer) ? answer : kept().then((hit) => hit ?? answer),
    );
    event.respondWith(
      Promise.race([network, slow.then((hit) => hit ?? network)])
        .catch(() => kept())
        .then((hit) => hit ?? Response.error()),
    );
  } else if (kind === "file") {
    // built files are named by their content: the kept copy is the file
    event.respondWith(caches.open(CACHE).then((cache) => cache.match(event.request)).then((hit) => hit ?? fetch(event.request)));
  }
});
