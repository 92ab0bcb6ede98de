// The tablet app's service worker, registered by /tablet with the scope "/tablet" only.
//
// It keeps the tablet app's own files (the page, its style and its scripts) so that a reload
// without the network shows the app's own "connection lost, your choice is kept" page instead
// of the browser's error. It touches nothing else: the API and the event stream always go to
// the network, other pages are outside its scope, and the encrypted mode's booth (installed on
// the tablet, never served from here) is neither served nor cached. Online, the network
// always wins, so a tablet never runs stale files while the appliance answers.

const CACHE = "piaojue-tablet-v1";
const FILES = [
  "/tablet",
  "/assets/app.css",
  "/assets/common.js",
  "/assets/tablet.js",
  "/assets/sig.js",
  "/assets/e2e/e2e.js",
  "/assets/vendor/noble-curves/ed25519.js",
  "/assets/vendor/noble-curves/utils.js",
  "/assets/vendor/noble-curves/abstract/curve.js",
  "/assets/vendor/noble-curves/abstract/edwards.js",
  "/assets/vendor/noble-curves/abstract/fft.js",
  "/assets/vendor/noble-curves/abstract/frost.js",
  "/assets/vendor/noble-curves/abstract/hash-to-curve.js",
  "/assets/vendor/noble-curves/abstract/modular.js",
  "/assets/vendor/noble-curves/abstract/montgomery.js",
  "/assets/vendor/noble-curves/abstract/oprf.js",
  "/assets/vendor/noble-hashes/sha2.js",
  "/assets/vendor/noble-hashes/_md.js",
  "/assets/vendor/noble-hashes/_u64.js",
  "/assets/vendor/noble-hashes/utils.js",
];
const KEPT = new Set(FILES);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(FILES.map((f) => new Request(f, { cache: "no-store" })))).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  // Only this app's own older caches are removed; nothing else is looked at.
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("piaojue-tablet-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  // The tablet page is kept without its fragment or query (an enrolment link's #code=… never
  // reaches the network or the cache anyway).
  const path = url.pathname;
  if (!KEPT.has(path)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await fetch(req);
      if (res.ok) await cache.put(path, res.clone());
      return res;
    } catch (e) {
      const kept = await cache.match(path);
      if (kept) return kept;
      throw e;
    }
  })());
});
