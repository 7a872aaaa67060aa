// What the pages' service workers share (sw.js for the wallet, gate-sw.js
// for the gate page). Never registered on its own: the server serves each
// worker as its page's file (CACHE, the name of the copy, and FILES, the
// paths it keeps) followed by this one, in one response, so that a fixed
// core reaches every page on the next check like the worker itself.
// FILES holds the page and every file it loads; anything else (the API,
// /app/, trust and status lists) goes to the network untouched.

self.addEventListener("install", function (ev) {
  ev.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(FILES); })
    .then(function () { return self.skipWaiting(); }));
});

// A new worker drops the caches of its page's older workers (the same name
// up to the version) and takes over the open page at once, so the very first
// visit is already ready for offline.
self.addEventListener("activate", function (ev) {
  var prefix = CACHE.slice(0, CACHE.lastIndexOf("-") + 1);
  ev.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf(prefix) === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// Network first, the saved copy when the network fails: online the page
// always gets the current page and scripts (a fix reaches phones at once)
// and the copy is refreshed; offline the last good copy opens.
self.addEventListener("fetch", function (ev) {
  var req = ev.request;
  if (req.method !== "GET") { return; }
  var url = new URL(req.url);
  // The language switch (?lang=) and anything not in FILES go straight to
  // the network.
  if (url.origin !== self.location.origin || url.search || FILES.indexOf(url.pathname) < 0) { return; }
  ev.respondWith(fetch(req).then(function (resp) {
    if (resp.ok && resp.type === "basic") {
      var copy = resp.clone();
      ev.waitUntil(caches.open(CACHE).then(function (c) { return c.put(url.pathname, copy); }));
    }
    return resp;
  }, function () {
    // Vary: Cookie on pages is for HTTP caches; this copy is the device's own.
    return caches.match(url.pathname, { ignoreVary: true }).then(function (r) { return r || Response.error(); });
  }));
});
