// The gate page's service worker: keeps the gate page and the files it
// needs, so that the page opens without a network and goes on deciding
// from the trust data in IndexedDB (gate.js). Registered by gate.js with
// scope /gate (the server allows it with Service-Worker-Allowed), so it
// never serves any other page. The trust list, status lists and the API go
// to the network untouched: gate.js keeps what it verified itself.
"use strict";
var CACHE = "epermit-gate-v2";
var FILES = ["/gate", "/static/css/site.css", "/static/js/common.js", "/static/js/ep1.js",
  "/static/js/trustlist.js", "/static/js/gate.js", "/static/vendor/jsqr/jsQR.js"];

self.addEventListener("install", function (ev) {
  ev.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(FILES); })
    .then(function () { return self.skipWaiting(); }));
});

// A new worker drops the caches of older ones and takes over the open
// page at once, so the very first visit is already ready for offline.
self.addEventListener("activate", function (ev) {
  ev.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("epermit-gate-") === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// Network first, the saved copy when the network fails: online the gate
// always gets the current page and scripts and the copy is refreshed;
// offline the last good copy opens.
self.addEventListener("fetch", function (ev) {
  var req = ev.request;
  if (req.method !== "GET") { return; }
  var url = new URL(req.url);
  if (url.origin !== self.location.origin || url.search || FILES.indexOf(url.pathname) < 0) { return; }
  ev.respondWith(fetch(req).then(function (resp) {
    if (resp.ok && resp.type === "basic") {
      var copy = resp.clone();
      ev.waitUntil(caches.open(CACHE).then(function (c) { return c.put(url.pathname, copy); }));
    }
    return resp;
  }, function () {
    return caches.match(url.pathname, { ignoreVary: true }).then(function (r) { return r || Response.error(); });
  }));
});
