// The wallet: shows the e-permit saved on this device with a QR rebuilt
// every 15 seconds, signed by the device key. It works offline once loaded:
// everything it needs is in IndexedDB; the server is only asked for news
// (a cancellation) when reachable.
"use strict";
(function () {
  var t = EP.t;
  var REFRESH = 15; // seconds between QR codes (spec §3)
  var entry = null, credBytes = null, nextAt = 0, timer = null;

  function setText(id, s) { document.getElementById(id).textContent = s; }

  function remaining(ms) {
    if (ms <= 0) { return t("card.expired"); }
    var m = Math.floor(ms / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60);
    return t("card.left.value", { d: d, h: h, m: m % 60 });
  }

  // nextIat returns the iat of the next proof for credential cti: now, but
  // never one used before for it, since a gate refuses a second proof with
  // the same (cti, iat) as replayed (spec §4 step 10). The second is
  // reserved before any await, so two quick taps on "new code now" get
  // two seconds; a reserved second still to come is waited for, so no
  // proof is dated ahead of the clock. The last iat is kept across reloads.
  var lastIat = {};
  async function nextIat(cti) {
    var key = "ep_last_iat:" + cti, last = lastIat[cti] || 0;
    try { last = Math.max(last, Number(localStorage.getItem(key)) || 0); } catch (e) { /* storage off: memory only */ }
    var iat = Math.max(Math.floor(Date.now() / 1000), last + 1);
    lastIat[cti] = iat;
    try { localStorage.setItem(key, String(iat)); } catch (e) { /* memory only */ }
    var wait = iat * 1000 - Date.now();
    if (wait > 0) { await new Promise(function (resolve) { setTimeout(resolve, wait); }); }
    return iat;
  }
  var drawnIat = {}; // cti → iat of the QR on the canvas

  function isValid(e) { return e.state === "active" && Date.parse(e.expires_at) > Date.now(); }

  function render() {
    var h = entry.holder || {};
    setText("h-name", h.name || "—");
    setText("h-latin", h.latin_name || "—");
    setText("h-doc", EP.docLabel(h.document_type, h.document_number));
    setText("h-birth", h.birth_date || "");
    setText("h-sex", h.sex ? t("sex." + h.sex) : "");
    setText("h-scopes", EP.scopesLabel(h.scopes));
    EP.show("h-notborder", (h.scopes || []).indexOf("border") < 0);
    setText("h-until", EP.fmtDateTime(entry.expires_at));
    var state = document.getElementById("card-state"), valid = isValid(entry);
    state.className = "state " + (valid ? "ok" : "bad");
    if (valid) { state.textContent = t("card.state.active"); }
    else if (entry.state === "revoked") { state.textContent = entry.state_reason === "cancelled by holder" ? t("card.state.cancelled") : t("card.state.revoked"); }
    else { state.textContent = t("card.expired"); }
    EP.show("qr-box", valid);
    EP.show("cancel-area", entry.state === "active");
  }

  async function drawQR() {
    nextAt = Date.now() + REFRESH * 1000; // now, so the ticks while this waits start no other
    var now = await nextIat(entry.cti);
    var text = await EPCose.qrText(credBytes, entry.key, now);
    if (now < (drawnIat[entry.cti] || 0)) { return; } // a later proof is on the canvas already
    drawnIat[entry.cti] = now;
    // Alphanumeric mode, level M (spec §3): base45 is exactly the QR
    // alphanumeric alphabet, so the whole text fits one segment.
    var qr = qrcode(0, "M");
    qr.addData(text, "Alphanumeric");
    qr.make();
    var n = qr.getModuleCount(), quiet = 4, canvas = document.getElementById("qr");
    // Whole pixels per module at the size the box allows: scaling a QR by
    // a fraction blurs module edges and makes scanners struggle.
    var room = Math.min(360, document.getElementById("qr-box").clientWidth || 330);
    var scale = Math.max(2, Math.floor(room / (n + 2 * quiet)));
    var size = (n + 2 * quiet) * scale;
    canvas.width = size; canvas.height = size;
    var g = canvas.getContext("2d");
    g.fillStyle = "#fff"; g.fillRect(0, 0, size, size);
    g.fillStyle = "#000";
    for (var r = 0; r < n; r++) {
      for (var c = 0; c < n; c++) {
        if (qr.isDark(r, c)) { g.fillRect((c + quiet) * scale, (r + quiet) * scale, scale, scale); }
      }
    }
    canvas.dataset.iat = String(now);
    nextAt = Date.now() + REFRESH * 1000;
  }

  async function tick() {
    if (!entry) { return; }
    render();
    // Only a valid e-permit has time left: a cancelled, revoked or
    // suspended one says so above and counts down nothing.
    setText("h-left", entry.state === "active" ? remaining(Date.parse(entry.expires_at) - Date.now()) : "—");
    if (!isValid(entry)) { return; }
    if (Date.now() >= nextAt) {
      try { await drawQR(); } catch (e) { setText("qr-countdown", t("err.qr")); return; }
    }
    setText("qr-countdown", t("card.qr.next", { s: Math.max(0, Math.ceil((nextAt - Date.now()) / 1000)) }));
  }

  // Pick the e-permit to show: the newest one that is still valid, else the
  // newest of all (to say it was cancelled or expired).
  function choose(all) {
    all = all.filter(function (e) { return e.key; });
    all.sort(function (a, b) { return Date.parse(b.issued_at) - Date.parse(a.issued_at); });
    return all.filter(isValid)[0] || all[0] || null;
  }

  // refreshFromServer merges the server's view (state changes) into the
  // saved entries. Without a session or a network it changes nothing.
  async function refreshFromServer(all) {
    var list;
    try {
      if (!(await EP.signedIn())) { return all; }
      list = await EP.api("GET", "/app/epermits");
    } catch (e) {
      if (e.code === "network") { EP.show("wallet-offline", true); }
      return all;
    }
    EP.show("wallet-offline", false);
    for (var i = 0; i < all.length; i++) {
      var fresh = list.epermits.filter(function (e) { return e.cti === all[i].cti; })[0];
      if (fresh && (fresh.state !== all[i].state || fresh.state_reason !== all[i].state_reason)) {
        all[i].state = fresh.state; all[i].state_reason = fresh.state_reason;
        await EP.wallet.put(all[i]);
      }
    }
    return all;
  }

  async function load() {
    var all = [];
    try { all = await EP.wallet.all(); } catch (e) { all = []; }
    all = await refreshFromServer(all);
    entry = choose(all);
    EP.show("wallet-loading", false);
    if (!entry) { EP.show("wallet-empty", true); return; }
    EP.show("wallet-slot", false);
    credBytes = EPCose.fromBase64url(entry.credential);
    EP.show("card", true);
    nextAt = 0;
    await tick();
    if (!timer) { timer = setInterval(tick, 1000); }
  }

  document.getElementById("qr-now").addEventListener("click", function () { nextAt = 0; tick(); });

  document.getElementById("cancel-start").addEventListener("click", function () {
    EP.show("cancel-confirm", true);
    document.getElementById("cancel-no").focus();
  });
  document.getElementById("cancel-no").addEventListener("click", function () {
    EP.show("cancel-confirm", false);
    document.getElementById("cancel-start").focus();
  });
  document.getElementById("cancel-yes").addEventListener("click", async function () {
    EP.showError("cancel-error", null);
    this.disabled = true;
    try {
      await EP.api("POST", "/app/epermits/" + encodeURIComponent(entry.cti) + "/cancel");
      entry.state = "revoked"; entry.state_reason = "cancelled by holder";
      await EP.wallet.put(entry);
      EP.show("cancel-confirm", false);
      await tick();
      document.getElementById("card-state").focus();
    } catch (e) {
      EP.showError("cancel-error", e.code === "unauthorized" ? t("cancel.signin") : e);
    } finally { this.disabled = false; }
  });
  document.getElementById("card-state").tabIndex = -1;

  // Signing out ends the session on the server; the e-permit stays here.
  EP.signedIn().then(function (yes) { return yes && EP.api("GET", "/app/me").then(function () { EP.show("session", true); }); })
    .catch(function () {});
  document.getElementById("signout").addEventListener("click", async function () {
    this.disabled = true;
    try { await EP.api("POST", "/app/signout"); } catch (e) { this.disabled = false; return; }
    EP.show("session", false);
    EP.show("signed-out", true);
    document.getElementById("signed-out").focus();
  });

  load();
})();

// The service worker (static/js/sw.js) keeps this page for offline use.
// Without one (an old browser, a private window) the page still works
// online, and offline once open, as before.
(function () {
  if (!("serviceWorker" in navigator)) { return; }
  navigator.serviceWorker.register("/static/js/sw.js", { scope: "/wallet" })
    .then(function () { return navigator.serviceWorker.ready; })
    .then(function () { EP.show("offline-ready", true); }, function () { /* no offline copy: nothing to say */ });
})();
