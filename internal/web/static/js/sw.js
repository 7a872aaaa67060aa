// The wallet's service worker: keeps the wallet page and the files it
// needs, so that the page opens without a network and goes on making fresh
// QR codes from the e-permit and key in IndexedDB. Registered by wallet.js
// with scope /wallet (the server allows it with Service-Worker-Allowed), so
// it never serves any other page. Everything under /app/ and the API goes
// to the network untouched: state comes from the server or not at all.
"use strict";
var CACHE = "epermit-wallet-v2";
var FILES = ["/wallet", "/static/css/site.css", "/static/js/common.js", "/static/js/cose.js",
  "/static/js/wallet.js", "/static/js/linkage.js", "/static/js/oid4vc.js", "/static/vendor/qrcode-generator/qrcode.js",
  "/static/vendor/jsqr/jsQR.js"];

self.addEventListener("install", function (ev) {
  ev.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(FILES); })
    .then(function () { return self.skipWaiting(); }));
});

// A new worker drops the caches of older ones and takes over the open
// wallet at once, so the very first visit is already ready for offline.
self.addEventListener("activate", function (ev) {
  ev.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("epermit-wallet-") === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// Network first, the saved copy when the network fails: online the holder
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
