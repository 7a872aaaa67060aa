// The gate page's service worker: keeps the gate page and the files it
// needs, so that the page opens without a network and goes on deciding
// from the trust data in IndexedDB (gate.js). Registered by gate.js with
// scope /gate (the server allows it with Service-Worker-Allowed), so it
// never serves any other page. The trust list, status lists and the API go
// to the network untouched: gate.js keeps what it verified itself.
// The server sends sw-core.js after this file, in the same response: the
// install, activate and fetch handlers are there.
"use strict";
var CACHE = "epermit-gate-v2";
var FILES = ["/gate", "/static/css/site.css", "/static/js/common.js", "/static/js/ep1.js",
  "/static/js/trustlist.js", "/static/js/gate.js", "/static/vendor/jsqr/jsQR.js"];
