// The gate page: staff paste, upload or scan the holder's QR and this
// device decides, with the checks of spec §4 in ep1.js, from trust data it
// keeps: the trust list and the status lists it has seen, fetched and
// verified when online, stored in IndexedDB and refreshed as they age, so
// that the page decides alike with the network cut. A service worker
// (static/js/gate-sw.js) keeps the page itself. Online verification (POST
// /api/v1/verify) stays as a setting, and is what an SM2 credential needs:
// WebCrypto has no SM2.
//
// With the authority's root pinned on the device (spec §1.2: on the first
// configuration from /.well-known/epermit-root.pem or a file the staff
// choose, its SHA-256 fingerprint shown to compare with the one the
// authority publishes), the page takes its keys only from the signed trust
// list (/.well-known/epermit-trust-list, trustlist.js): a list that root
// did not sign, an expired one or an older one than held is refused and
// the held list kept. Without a root the page takes the JWK Set the
// server sends, as before. A root on the SM2 curve cannot be checked in a
// browser: the page then checks online.
//
// The verifier's API key is registered once per device (localStorage,
// never a cookie, so no CSRF exposure) and used only for online checks and
// the holder's portrait.
"use strict";
(function () {
  var t = EP.t;
  var KEY = "epermit.verifier-key", ONLINE = "epermit.gate.online", REPLAY = "epermit.gate.replay";
  var TRUST_REFRESH = 600;   // s between trust list fetches: key rotations arrive within it
  var RETRY_AFTER = 15;      // s before a failed fetch of a list is tried again (verify's default)
  var FETCH_TIMEOUT = 4000;  // ms for one fetch at a scan
  var SKEW = 300, MAX_STATUS_AGE = 0; // the policy: verify.DefaultSkew, each list's own ttl
  var form = document.getElementById("gate-form");

  function now() { return Math.floor(Date.now() / 1000); }
  function setText(id, s) { document.getElementById(id).textContent = s; }

  // --- the API key, once per device --------------------------------------
  function apiKey() { return localStorage.getItem(KEY) || ""; }
  function showKeyState() {
    var has = apiKey() !== "";
    EP.show("key-field", !has);
    EP.show("key-saved", has);
  }
  document.getElementById("key-forget").addEventListener("click", function () {
    localStorage.removeItem(KEY); showKeyState(); document.getElementById("api-key").focus();
  });
  var onlineBox = document.getElementById("online-mode");
  onlineBox.checked = localStorage.getItem(ONLINE) === "1";
  onlineBox.addEventListener("change", function () {
    if (onlineBox.checked) { localStorage.setItem(ONLINE, "1"); } else { localStorage.removeItem(ONLINE); }
  });

  // --- trust data on the device ------------------------------------------
  // One IndexedDB object store, "data": the trust list under "trust"
  // ({jwks, fetched}), the pinned root under "root" ({der}), the signed
  // trust list under "signed" ({jws, fetched}) and each status list token
  // under "status:" + uri ({uri, token, fetched}). Tokens are kept as received and verified
  // again when loaded, against the trust list of the moment.
  function openDB() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open("epermit-gate", 1);
      req.onupgradeneeded = function () { req.result.createObjectStore("data"); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  var dbp = openDB();
  function idb(mode, fn) {
    return dbp.then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("data", mode), req = fn(tx.objectStore("data"));
        tx.oncomplete = function () { resolve(req && req.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  function dbGet(k) { return idb("readonly", function (s) { return s.get(k); }); }
  function dbPut(k, v) { return idb("readwrite", function (s) { return s.put(v, k); }); }
  function dbDel(k) { return idb("readwrite", function (s) { return s.delete(k); }); }
  function dbAll() {
    return idb("readonly", function (s) { return s.getAll(); });
  }

  var state = { trust: null, trustFetched: 0, trustCount: 0, root: null, signed: null, refused: "", status: new EP1.StatusStore(SKEW),
    failed: {}, replay: new EP1.ReplayCache(100000) };
  try { state.replay.load(JSON.parse(localStorage.getItem(REPLAY) || "[]"), now()); } catch (e) { /* a fresh cache */ }
  function saveReplay() {
    try { localStorage.setItem(REPLAY, JSON.stringify(state.replay.entries(now()))); } catch (e) { /* full: kept in memory */ }
  }

  function withTimeout(url, opts) {
    var ctl = new AbortController(), timer = setTimeout(function () { ctl.abort(); }, FETCH_TIMEOUT);
    return fetch(url, Object.assign({ signal: ctl.signal, cache: "no-store" }, opts || {}))
      .finally(function () { clearTimeout(timer); });
  }

  // useTrust imports a JWK Set; the status lists held stay (each was
  // verified when fetched), lists fetched from now on need its keys.
  async function useTrust(jwks, fetched) {
    state.trust = await EP1.importTrustList(jwks);
    state.trustFetched = fetched;
    state.trustCount = jwks.keys.length;
  }

  // pinRoot keeps a root certificate (PEM text or DER bytes) as the one
  // this device trusts; the list held under another root goes.
  async function pinRoot(data) {
    var r = await EP1.parseRoot(data);
    await dbPut("root", { der: r.raw });
    await dbDel("signed");
    state.root = r; state.signed = null; state.trust = null; state.refused = "";
    return r;
  }

  // useSigned checks a signed list against the pinned root and the list
  // held, and uses it; the same seq as held changes nothing. A list that is
  // refused leaves the held one in use and its code on the page.
  async function useSigned(jws, fetched, held, at) {
    var l = await EP1.acceptTrustList(jws, state.root, held, at, SKEW);
    if (held && l.seq === held.seq) { state.signed.fetched = fetched; state.trustFetched = fetched; return false; }
    state.signed = { seq: l.seq, exp: l.exp, iat: l.iat, fetched: fetched };
    state.trust = l.trust; state.trustFetched = fetched; state.trustCount = l.trust.keys.size;
    if (l.root !== state.root) { state.root = l.root; await dbPut("root", { der: l.root.raw }); } // a rollover
    return true;
  }

  // firstRoot pins the root the authority serves, on a device that has
  // none (first configuration: the staff compare the fingerprint shown).
  // It resolves to false when the server offers no root.
  async function firstRoot() {
    var resp = await withTimeout("/.well-known/epermit-root.pem");
    if (!resp.ok) { return false; }
    await pinRoot(await resp.text());
    return true;
  }

  // refreshSigned fetches the signed list and uses it unless refused.
  async function refreshSigned() {
    if (state.root.sm2) { return false; }
    var resp = await withTimeout("/.well-known/epermit-trust-list", { headers: { "Accept": "application/epermit-trust-list+jwt" } });
    if (!resp.ok) { return false; }
    var jws = await resp.text(), at = now();
    try {
      if (await useSigned(jws, at, state.signed, at)) { await dbPut("signed", { jws: jws, fetched: at }); }
      state.refused = "";
      return true;
    } catch (e) {
      if (!(e instanceof EP1.TrustListError)) { throw e; }
      state.refused = e.code;
      return false;
    }
  }

  // refreshTrust fetches the trust data: the signed list under the pinned
  // root (pinning the server's root first on a new device), else the JWK
  // Set. It resolves to whether a list was taken.
  async function refreshTrust() {
    try {
      if (state.root || await firstRoot()) { return await refreshSigned(); }
      var resp = await withTimeout("/.well-known/jwks.json", { headers: { "Accept": "application/jwk-set+json, application/json" } });
      if (!resp.ok) { return false; }
      var jwks = await resp.json(), at = now();
      await useTrust(jwks, at);
      await dbPut("trust", { jwks: jwks, fetched: at });
      return true;
    } catch (e) { return false; } finally { render(); }
  }

  // fetchList fetches the list at uri and keeps it unless it is refused
  // (bad, from the future, or older than the copy held); a failure waits
  // RETRY_AFTER before the next try, as verify.StatusCache does.
  async function fetchList(uri) {
    var at = now();
    if (state.failed[uri] && at - state.failed[uri] < RETRY_AFTER) { return; }
    if (!state.trust) { return; }
    try {
      var resp = await withTimeout(uri, { headers: { "Accept": "application/statuslist+cwt" } });
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      var token = new Uint8Array(await resp.arrayBuffer());
      var kept = await state.status.offer(uri, token, state.trust, at);
      await dbPut("status:" + uri, { uri: uri, token: token, fetched: at });
      if (EP1.needsRefresh(kept, at, SKEW, MAX_STATUS_AGE)) { state.failed[uri] = at; } else { delete state.failed[uri]; }
    } catch (e) { state.failed[uri] = at; } finally { render(); }
  }

  // refreshLists fetches the lists held that need it, or all of them when
  // forced (an online page load: a revocation since the last fetch must
  // reach the device before it goes offline).
  function refreshLists(force) {
    var at = now();
    if (force) { state.failed = {}; }
    return Promise.all(Array.from(state.status.lists.values())
      .filter(function (l) { return force || EP1.needsRefresh(l, at, SKEW, MAX_STATUS_AGE); })
      .map(function (l) { return fetchList(l.uri); }));
  }

  // load reads the stored trust data, verifying each list again.
  async function load() {
    var all = [];
    try { all = await dbAll(); } catch (e) { all = []; }
    var pinned = await dbGet("root").catch(function () { return null; });
    if (pinned) {
      state.root = await EP1.parseRoot(pinned.der);
      var signed = await dbGet("signed").catch(function () { return null; });
      // The held list is checked again, but kept when past its exp: then
      // every scan answers trust_list_expired until a fresh list comes.
      if (signed && !state.root.sm2) { try { await useSigned(signed.jws, signed.fetched, null, signed.fetched); } catch (e) { /* refetched below */ } }
    } else {
      var trust = all.filter(function (r) { return r && r.jwks; })[0];
      if (trust) { try { await useTrust(trust.jwks, trust.fetched); } catch (e) { /* refetched below */ } }
    }
    if (state.trust) {
      for (var i = 0; i < all.length; i++) {
        var r = all[i];
        if (!r || !r.token) { continue; }
        try { await state.status.offer(r.uri, r.token, state.trust, now()); state.status.get(r.uri).fetched = r.fetched; }
        catch (e) { dbDel("status:" + r.uri).catch(function () {}); }
      }
    }
    render();
  }

  function fmtAge(s) {
    s = Math.max(0, Math.round(s));
    if (s < 120) { return t("age.s", { n: s }); }
    if (s < 7200) { return t("age.min", { n: Math.round(s / 60) }); }
    if (s < 172800) { return t("age.h", { n: Math.round(s / 3600) }); }
    return t("age.d", { n: Math.round(s / 86400) });
  }

  // render shows whether the device is online and how old each piece of
  // its trust data is: the trust list since it was fetched, a status list
  // since the authority signed it (now − iat, the age check 12 uses).
  function render() {
    var at = now();
    setText("net-state", navigator.onLine ? t("gate.data.online") : t("gate.data.offline"));
    document.getElementById("net-state").dataset.online = navigator.onLine ? "1" : "0";
    var ul = document.getElementById("data-state");
    ul.textContent = "";
    function li(text, cls, data) {
      var e = document.createElement("li"); e.textContent = text;
      if (cls) { e.className = cls; }
      Object.assign(e.dataset, data || {});
      ul.appendChild(e);
    }
    if (state.root) {
      li(t(state.root.sm2 ? "gate.root.sm2" : "gate.root", { fp: state.root.fingerprint }), state.root.sm2 ? "warn" : "",
        { kind: "root", fingerprint: state.root.fingerprint });
    }
    if (state.signed) {
      var expired = !(at < state.signed.exp + SKEW);
      li(t(expired ? "gate.data.signed.expired" : "gate.data.signed", { n: state.trustCount, seq: state.signed.seq,
        until: EP.fmtDateTime(new Date(state.signed.exp * 1000).toISOString()), age: fmtAge(at - state.trustFetched) }),
        expired ? "warn" : "", { kind: "trust", seq: String(state.signed.seq) });
    } else if (state.trust) { li(t("gate.data.trust", { n: state.trustCount, age: fmtAge(at - state.trustFetched) }), "", { kind: "trust" }); }
    else if (!(state.root && state.root.sm2)) { li(t("gate.data.notrust"), "warn", { kind: "trust" }); }
    if (state.refused) { li(t("gate.data.refused", { why: t("code." + state.refused) }), "warn", { kind: "refused", code: state.refused }); }
    if (state.status.lists.size === 0) { li(t("gate.data.nolists"), "", { kind: "none" }); }
    state.status.lists.forEach(function (l) {
      var ok = EP1.usable(l, at, SKEW, MAX_STATUS_AGE);
      li(t(ok ? "gate.data.list" : "gate.data.list.stale", { uri: l.uri, age: fmtAge(at - l.iat) }), ok ? "" : "warn",
        { kind: "status", uri: l.uri, age: String(Math.max(at - l.iat, 0)), usable: ok ? "1" : "0" });
    });
  }

  // --- scanning ----------------------------------------------------------
  // decodeImage reads a QR code from an image or video frame with jsQR.
  function decodeImage(src, w, h) {
    var c = document.createElement("canvas");
    var scale = Math.min(1, 1600 / Math.max(w, h));
    c.width = Math.round(w * scale); c.height = Math.round(h * scale);
    var g = c.getContext("2d", { willReadFrequently: true });
    g.drawImage(src, 0, 0, c.width, c.height);
    var d = g.getImageData(0, 0, c.width, c.height);
    var code = jsQR(d.data, d.width, d.height, { inversionAttempts: "attemptBoth" });
    return code ? code.data : "";
  }

  document.getElementById("qr-file").addEventListener("change", async function () {
    var file = this.files[0];
    if (!file) { return; }
    EP.showError("gate-error", null);
    var url = URL.createObjectURL(file);
    try {
      var img = new Image();
      await new Promise(function (resolve, reject) { img.onload = resolve; img.onerror = reject; img.src = url; });
      var text = decodeImage(img, img.naturalWidth, img.naturalHeight);
      if (!text) { EP.showError("gate-error", t("gate.noqr")); return; }
      document.getElementById("qr-text").value = text;
    } catch (e) { EP.showError("gate-error", t("gate.noqr")); } finally { URL.revokeObjectURL(url); }
  });

  // Camera scanning: look at frames until one holds a QR code, then check it.
  var scan = null;
  function stopScan() {
    if (scan) { scan.getTracks().forEach(function (tr) { tr.stop(); }); scan = null; }
    EP.show("scan-video", false);
    setText("scan-start", t("gate.scan"));
  }
  document.getElementById("scan-start").addEventListener("click", async function () {
    if (scan) { stopScan(); return; }
    EP.showError("gate-error", null);
    var video = document.getElementById("scan-video");
    try {
      scan = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) { EP.showError("gate-error", t("face.nocamera")); return; }
    video.srcObject = scan;
    EP.show(video, true);
    setText("scan-start", t("gate.scan.stop"));
    await video.play();
    (function look() {
      if (!scan) { return; }
      if (video.videoWidth) {
        var text = decodeImage(video, video.videoWidth, video.videoHeight);
        if (text) { document.getElementById("qr-text").value = text; stopScan(); form.requestSubmit(); return; }
      }
      setTimeout(look, 200);
    })();
  });

  // --- the result --------------------------------------------------------
  var portraitURL = null;
  function clearPortrait() {
    var img = document.getElementById("portrait");
    if (portraitURL) { URL.revokeObjectURL(portraitURL); portraitURL = null; }
    img.removeAttribute("src"); EP.show(img, false); EP.show("portrait-offline", false);
  }

  // showPortrait fetches the photo on file with the gate's key; without
  // the network or a key the staff check the physical ID card instead.
  async function showPortrait(cti) {
    var shown = false;
    if (navigator.onLine && apiKey()) {
      try {
        var resp = await withTimeout("/api/v1/credentials/" + encodeURIComponent(cti) + "/portrait",
          { headers: { "Authorization": "Bearer " + apiKey() } });
        if (resp.ok) {
          portraitURL = URL.createObjectURL(await resp.blob());
          var img = document.getElementById("portrait");
          img.src = portraitURL; EP.show(img, true); shown = true;
        }
      } catch (e) { /* the portrait is a help, not a condition */ }
    }
    EP.show("portrait-offline", !shown);
  }

  // setParts fills a result value: each part a span that never breaks
  // inside itself (a number, a date, a name, one use), the line breaking
  // only between parts; a {words: …} part (a document type's name) may
  // break between its words.
  function setParts(id, parts, sep) {
    var dd = document.getElementById(id);
    dd.textContent = "";
    parts.forEach(function (p, i) {
      if (i > 0) { dd.appendChild(document.createTextNode(sep)); }
      var span = document.createElement("span");
      span.className = typeof p === "object" ? "v words" : "v";
      span.textContent = typeof p === "object" ? p.words : p;
      dd.appendChild(span);
    });
  }

  function showResult(r, onDevice) {
    var decision = r.decision; // accept, accept_with_warning, reject, needs_online
    var box = document.getElementById("result");
    box.dataset.decision = decision;
    box.dataset.code = r.code || "";
    box.dataset.where = onDevice ? "device" : "online";
    var verdict = document.getElementById("verdict");
    verdict.className = "verdict " + (decision === "reject" ? "reject" : (decision === "accept" ? "accept" : "warn"));
    setText("verdict-mark", decision === "reject" ? "✕" : (decision === "accept" ? "✓" : "!"));
    setText("verdict-title", t("verdict." + decision));
    var reason;
    if (decision === "needs_online") { reason = r.code === "sm2_root" ? t("gate.root.sm2") : t("gate.sm2"); }
    else if (decision === "reject") { reason = t("code." + r.code); }
    else if (r.warnings && r.warnings.length) { reason = r.warnings.map(function (w) { return t("code." + w); }).join(" "); }
    else { reason = t("verdict.accept.reason", { use: t("use." + r.use) }); }
    setText("verdict-reason", reason);
    clearPortrait();
    var h = r.holder;
    EP.show("result-holder", !!h);
    if (h) {
      setParts("r-name", [h.name || "—"]);
      setParts("r-latin", [h.latin_name || "—"]);
      setParts("r-doc", [{ words: t("doctype." + h.document_type) }, h.document_number], " ");
      setParts("r-birth", [h.birth_date]);
      setParts("r-sex", [t("sex." + h.sex)]);
      setParts("r-scopes", (h.scopes || []).map(function (u) { return t("use." + u); }), t("list.sep"));
      setParts("r-until", [r.credential ? EP.fmtDateTime(r.credential.expires) : ""]);
      if (r.credential) { showPortrait(r.credential.cti); }
    }
    var age = r.credential && typeof r.credential.status_age_seconds === "number" ? Math.round(r.credential.status_age_seconds) : null;
    var fresh;
    if (onDevice) {
      fresh = t("gate.fresh.device", { at: EP.fmtDateTime(r.checked_at) }) + " " +
        (age !== null ? t("gate.fresh.devstatus", { age: fmtAge(age) }) : t("gate.fresh.nostatus"));
    } else {
      fresh = t("gate.fresh", { at: EP.fmtDateTime(r.checked_at) }) + " " + (age !== null ? t("gate.fresh.status", { age: age })
        : (r.code === "revoked" || r.code === "suspended") ? t("gate.fresh.checked") : t("gate.fresh.nostatus"));
    }
    setText("freshness", fresh);
    EP.show(box, true);
    box.focus();
  }

  // verifyOnDevice runs the checks here. A list the device does not hold,
  // or holds too old, is fetched first when online (trust data, not a
  // decision: a failure only leaves the status unknown).
  async function verifyOnDevice(text, use) {
    if (state.root && state.root.sm2) { return { decision: "needs_online", code: "sm2_root", use: use, checked_at: new Date().toISOString() }; }
    if (!state.trust && navigator.onLine) { await refreshTrust(); }
    if (!state.trust) { return null; }
    var uri = null;
    try { uri = EP1.parseQR(text).claims.uri; } catch (e) { uri = null; }
    if (uri && navigator.onLine && EP1.needsRefresh(state.status.get(uri), now(), SKEW, MAX_STATUS_AGE)) { await fetchList(uri); }
    var opts = { trust: state.trust, status: state.status, replay: state.replay,
      policy: { use: use, skew: SKEW, maxStatusAge: MAX_STATUS_AGE } };
    var r = await EP1.verify(text, now(), opts);
    // A key the device does not know may be newer than its trust list:
    // online, fetch the list again (at most once a minute) and check again.
    // unknown_key comes before the replay check, so nothing was recorded.
    if (r.code === "unknown_key" && navigator.onLine && now() - state.trustFetched >= 60 && await refreshTrust()) {
      opts.trust = state.trust;
      r = await EP1.verify(text, now(), opts);
    }
    saveReplay();
    return r;
  }

  async function verifyOnline(text, use) {
    var resp = await fetch("/api/v1/verify", { method: "POST",
      headers: { "Authorization": "Bearer " + apiKey(), "Content-Type": "application/json" },
      body: JSON.stringify({ qr: text, use: use }) });
    var data = await resp.json().catch(function () { return null; });
    if (resp.status === 401) { localStorage.removeItem(KEY); showKeyState(); throw new Error(t("gate.key.wrong")); }
    if (!resp.ok) { throw new Error((data && data.code && t("err." + data.code)) || t("err.internal")); }
    return data;
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    EP.showError("gate-error", null);
    var typed = document.getElementById("api-key").value.trim();
    if (typed) { localStorage.setItem(KEY, typed); document.getElementById("api-key").value = ""; }
    showKeyState();
    // Only line breaks go: a space is a base45 character, even at the end.
    var text = document.getElementById("qr-text").value.replace(/[\r\n\t]/g, "").replace(/^ +/, "");
    if (!text) { EP.showError("gate-error", t("gate.qrtext.missing")); document.getElementById("qr-text").focus(); return; }
    var use = form.querySelector('input[name="use"]:checked').value;
    var button = document.getElementById("gate-submit");
    button.disabled = true;
    try {
      var online = onlineBox.checked, r = null;
      if (!online) {
        r = await verifyOnDevice(text, use);
        if (!r) { EP.showError("gate-error", t("gate.data.notrust")); return; }
        // SM2: the device cannot decide; the authority can, when reachable.
        if (r.decision === "needs_online" && navigator.onLine && apiKey()) { online = true; }
      }
      if (online) {
        if (!apiKey()) { EP.showError("gate-error", t("gate.key.missing")); document.getElementById("api-key").focus(); return; }
        r = await verifyOnline(text, use);
      }
      showResult(r, !online);
    } catch (e) { EP.showError("gate-error", e instanceof TypeError || !e || !e.message ? t("err.network") : e.message); } finally { button.disabled = false; render(); }
  });

  document.getElementById("next-scan").addEventListener("click", function () {
    EP.show("result", false); clearPortrait();
    document.getElementById("qr-text").value = "";
    document.getElementById("qr-text").focus();
  });

  // Online again: refresh what aged while offline.
  window.addEventListener("online", function () { refreshTrust().then(function () { return refreshLists(true); }); });
  window.addEventListener("offline", render);
  setInterval(function () {
    if (navigator.onLine) {
      if (now() - state.trustFetched >= TRUST_REFRESH) { refreshTrust(); }
      refreshLists(false);
    }
    render();
  }, 30000);

  // A root chosen by the staff (PEM or DER file) replaces the one pinned.
  document.getElementById("root-file").addEventListener("change", async function () {
    var file = this.files[0];
    if (!file) { return; }
    EP.showError("gate-error", null);
    try {
      var b = new Uint8Array(await file.arrayBuffer());
      await pinRoot(b[0] === 0x30 ? b : new TextDecoder().decode(b));
      if (navigator.onLine) { await refreshTrust(); }
    } catch (e) { EP.showError("gate-error", t("gate.root.bad")); } finally { this.value = ""; render(); }
  });

  showKeyState();
  EP.gate = { ready: load().then(function () {
    return navigator.onLine ? refreshTrust().then(function () { return refreshLists(true); }) : null;
  }).then(render), state: state, refreshTrust: refreshTrust, refreshLists: refreshLists, pinRoot: pinRoot };

  // The service worker keeps this page and its files for offline use.
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/static/js/gate-sw.js", { scope: "/gate" }).catch(function () { /* online only */ });
  }
})();
