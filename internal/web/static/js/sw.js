// The wallet's service worker: keeps the wallet page and the files it
// needs, so that the page opens without a network and goes on making fresh
// QR codes from the e-permit and key in IndexedDB. Registered by wallet.js
// with scope /wallet (the server allows it with Service-Worker-Allowed), so
// it never serves any other page. Everything under /app/ and the API goes
// to the network untouched: state comes from the server or not at all.
// The server sends sw-core.js after this file, in the same response: the
// install, activate and fetch handlers are there.
"use strict";
var CACHE = "epermit-wallet-v2";
var FILES = ["/wallet", "/static/css/site.css", "/static/js/common.js", "/static/js/cose.js",
  "/static/js/wallet.js", "/static/js/linkage.js", "/static/js/oid4vc.js", "/static/vendor/qrcode-generator/qrcode.js",
  "/static/vendor/jsqr/jsQR.js"];
