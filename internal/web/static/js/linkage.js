// The wallet's linkage proofs (spec/formats.md §6): request one with a
// fresh non-extractable device key, list them, share one with an
// institution as an SD-JWT presentation whose KB-JWT this device signs,
// print the result page, cancel. Sharing needs no network: the proof and
// its key are in IndexedDB.
"use strict";
(function () {
  var t = EP.t;
  // The seven selectively disclosable claims, in the order the form shows
  // them; the two permit numbers are what most institutions need.
  var CLAIMS = ["travel_permit_number", "residence_permit_number", "travel_permit_type", "name",
    "latin_name", "birth_date", "sex"];
  var DEFAULT_CLAIMS = { travel_permit_number: true, residence_permit_number: true };
  var proofs = [], sharing = null;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function utf8(s) { return new TextEncoder().encode(s); }
  function b64u(bytes) { return EPCose.toBase64url(bytes); }

  // claimsOf reads the disclosures of an SD-JWT `<jwt>~<d>~…~`: each is
  // base64url(JSON [salt, name, value]). It returns name → {value, encoded}.
  function claimsOf(sdjwt) {
    var out = {};
    sdjwt.split("~").slice(1).forEach(function (enc) {
      if (!enc) { return; }
      try {
        var d = JSON.parse(new TextDecoder().decode(EPCose.fromBase64url(enc)));
        out[d[1]] = { value: d[2], encoded: enc };
      } catch (e) { /* not a disclosure: leave it out */ }
    });
    return out;
  }

  // claimText is a claim's value in words.
  function claimText(name, v) {
    if (name === "sex") { return t(v === 1 ? "sex.male" : v === 2 ? "sex.female" : "sex.unknown"); }
    if (name === "travel_permit_type") { return t("doctype." + v); }
    return v === undefined || v === null || v === "" ? "—" : String(v);
  }

  function isValid(p) { return p.state === "active" && Date.parse(p.expires_at) > Date.now(); }

  function stateText(p) {
    if (isValid(p)) { return t("linkage.state.active"); }
    if (p.state === "revoked") {
      return p.state_reason === "cancelled by holder" ? t("linkage.state.cancelled") : t("linkage.state.revoked");
    }
    if (p.state === "suspended") { return t("linkage.state.suspended"); }
    return t("linkage.state.expired");
  }

  // present builds the SD-JWT presentation of spec §6: the issuer JWT, the
  // chosen disclosures in the order issued, and a KB-JWT {iat, aud, nonce,
  // sd_hash} signed by the device key. WebCrypto's ECDSA gives r||s, which
  // is exactly the JWS form of ES256.
  async function present(p, names, aud, nonce) {
    var parts = p.credential.split("~"), want = {};
    names.forEach(function (n) { want[n] = true; });
    var presented = parts[0] + "~";
    parts.slice(1).forEach(function (enc) {
      if (!enc) { return; }
      var c = claimsOf("~" + enc + "~");
      var name = Object.keys(c)[0];
      if (name && want[name]) { presented += enc + "~"; }
    });
    // sd_hash covers everything up to and including the last "~".
    var sdHash = b64u(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(presented))));
    var input = b64u(utf8(JSON.stringify({ alg: "ES256", typ: "kb+jwt" }))) + "." +
      b64u(utf8(JSON.stringify({ iat: Math.floor(Date.now() / 1000), aud: aud, nonce: nonce, sd_hash: sdHash })));
    var sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, p.key, utf8(input)));
    return presented + input + "." + b64u(sig);
  }

  // drawQR draws text in byte mode (the SD-JWT is not QR-alphanumeric) at
  // level L, the smallest symbol for a long text, with whole pixels per
  // module so that edges stay sharp.
  function drawQR(canvas, text) {
    var qr = qrcode(0, "L");
    qr.addData(text, "Byte");
    qr.make();
    var n = qr.getModuleCount(), quiet = 4;
    var scale = Math.max(3, Math.floor(Math.min(480, canvas.parentNode.clientWidth || 330) / (n + 2 * quiet)));
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
  }

  function render() {
    var list = document.getElementById("linkage-list");
    list.textContent = "";
    EP.show("linkage-none", proofs.length === 0);
    EP.show("linkage-slot", proofs.length === 0);
    proofs.forEach(function (p) {
      var c = claimsOf(p.credential), valid = isValid(p);
      var item = el("article", { "class": "card linkage-item", "data-cti": p.cti, "aria-labelledby": "lk-h-" + p.cti });
      var head = el("header", { "class": "card-head" });
      head.appendChild(el("h3", { id: "lk-h-" + p.cti }, t("linkage.item.title")));
      item.appendChild(head);
      item.appendChild(el("div", { "class": "state " + (valid ? "ok" : "bad"), "data-state": valid ? "valid" : p.state }, stateText(p)));
      var dl = el("dl", { "class": "facts" });
      [["linkage.item.travel", c.travel_permit_type ? EP.docLabel(c.travel_permit_type.value, (c.travel_permit_number || {}).value || "") : "—"],
        ["linkage.item.residence", t("linkage.item.residence.name") + " " + ((c.residence_permit_number || {}).value || "—")],
        ["holder.name", (c.name || {}).value || (c.latin_name || {}).value || "—"],
        ["linkage.item.issued", EP.fmtDateTime(p.issued_at)],
        ["card.valid_until", EP.fmtDateTime(p.expires_at)]].forEach(function (row) {
        dl.appendChild(el("dt", {}, t(row[0])));
        dl.appendChild(el("dd", { "class": row[0].replace(/\./g, "-") }, row[1]));
      });
      item.appendChild(dl);
      var actions = el("div", { "class": "actions" });
      if (valid) {
        var share = el("button", { type: "button", "class": "primary share-start" }, t("linkage.item.share"));
        share.addEventListener("click", function () { openShare(p); });
        actions.appendChild(share);
      }
      // The printable result page lives on the server and says itself
      // whether the proof is still valid, so the link stays for all states.
      actions.appendChild(el("a", { "class": "button print", href: "/linkage/" + encodeURIComponent(p.cti),
        target: "_blank", rel: "noopener" }, t("linkage.item.print")));
      item.appendChild(actions);
      if (p.state === "active") { item.appendChild(cancelArea(p)); }
      list.appendChild(item);
    });
  }

  function cancelArea(p) {
    var box = el("div", { "class": "cancel" });
    var start = el("button", { type: "button", "class": "danger linkage-cancel" }, t("linkage.cancel.start"));
    var confirm = el("div", { "class": "notice warn", hidden: "" });
    confirm.appendChild(el("p", {}, t("linkage.cancel.confirm")));
    var yes = el("button", { type: "button", "class": "danger linkage-cancel-yes" }, t("linkage.cancel.yes"));
    var no = el("button", { type: "button" }, t("linkage.cancel.no"));
    confirm.appendChild(yes); confirm.appendChild(no);
    var err = el("p", { "class": "error", role: "alert", hidden: "" });
    start.addEventListener("click", function () { EP.show(confirm, true); no.focus(); });
    no.addEventListener("click", function () { EP.show(confirm, false); start.focus(); });
    yes.addEventListener("click", async function () {
      yes.disabled = true;
      try {
        await EP.api("POST", "/app/linkage/" + encodeURIComponent(p.cti) + "/cancel");
        p.state = "revoked"; p.state_reason = "cancelled by holder";
        await EP.linkage.put(p);
        if (sharing === p) { closeShare(); }
        render();
        var state = document.querySelector('.linkage-item[data-cti="' + p.cti + '"] .state');
        if (state) { state.tabIndex = -1; state.focus(); }
      } catch (e) {
        err.textContent = e.code === "unauthorized" ? t("linkage.signin") : e.message;
        err.hidden = false; yes.disabled = false;
      }
    });
    box.appendChild(start); box.appendChild(confirm); box.appendChild(err);
    return box;
  }

  // The claims the holder may disclose, as checkboxes with the value shown,
  // so the holder sees exactly what the institution will see.
  function claimBoxes(p) {
    var fs = document.getElementById("share-claims"), c = claimsOf(p.credential);
    Array.prototype.slice.call(fs.querySelectorAll(".check")).forEach(function (n) { n.remove(); });
    CLAIMS.forEach(function (name) {
      if (!c[name]) { return; }
      var row = el("div", { "class": "check" });
      var box = el("input", { type: "checkbox", id: "claim-" + name, name: "claim", value: name });
      box.checked = !!DEFAULT_CLAIMS[name];
      row.appendChild(box);
      row.appendChild(el("label", { "for": "claim-" + name }, t("linkage.claim." + name) + ": " + claimText(name, c[name].value)));
      fs.appendChild(row);
    });
  }

  function openShare(p) {
    sharing = p;
    claimBoxes(p);
    EP.showError("share-error", null);
    EP.show("share-result", false);
    EP.show("share-form", true);
    document.getElementById("share-h").focus();
  }
  function closeShare() {
    sharing = null;
    EP.show("share-form", false);
    EP.show("share-result", false);
  }

  // parseRequest reads an institution's request: a link or QR text carrying
  // aud and nonce as query parameters, e.g.
  // https://…/wallet#share?aud=urn:bank:x&nonce=4f7a9c or
  // epermit-linkage:?aud=urn:bank:x&nonce=4f7a9c.
  function parseRequest(s) {
    s = (s || "").trim();
    var i = s.search(/[?#]/);
    var q = (i >= 0 ? s.slice(i + 1) : s).replace(/^share\?/, "");
    var p = new URLSearchParams(q);
    return p.get("aud") && p.get("nonce") ? { aud: p.get("aud"), nonce: p.get("nonce") } : null;
  }
  function useRequest(text) {
    var r = parseRequest(text);
    if (!r) { EP.showError("share-error", t("linkage.share.badrequest")); return false; }
    document.getElementById("share-aud").value = r.aud;
    document.getElementById("share-nonce").value = r.nonce;
    EP.showError("share-error", null);
    return true;
  }

  document.getElementById("share-request").addEventListener("change", function () {
    if (this.value.trim()) { useRequest(this.value); }
  });

  // A picture of the institution's QR (on a phone the file picker offers
  // the camera), read with the vendored jsQR as the gate page does.
  document.getElementById("share-qr-file").addEventListener("change", async function () {
    var file = this.files[0];
    if (!file) { return; }
    var url = URL.createObjectURL(file);
    try {
      var img = new Image();
      await new Promise(function (resolve, reject) { img.onload = resolve; img.onerror = reject; img.src = url; });
      var c = document.createElement("canvas");
      var scale = Math.min(1, 1600 / Math.max(img.naturalWidth, img.naturalHeight));
      c.width = Math.round(img.naturalWidth * scale); c.height = Math.round(img.naturalHeight * scale);
      var g = c.getContext("2d", { willReadFrequently: true });
      g.drawImage(img, 0, 0, c.width, c.height);
      var d = g.getImageData(0, 0, c.width, c.height);
      var code = jsQR(d.data, d.width, d.height, { inversionAttempts: "attemptBoth" });
      if (!code) { EP.showError("share-error", t("linkage.share.noqr")); return; }
      document.getElementById("share-request").value = code.data;
      useRequest(code.data);
    } catch (e) { EP.showError("share-error", t("linkage.share.noqr")); } finally { URL.revokeObjectURL(url); }
  });

  document.getElementById("share-close").addEventListener("click", function () {
    closeShare();
    document.getElementById("linkage-h").focus();
  });

  document.getElementById("share-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var aud = document.getElementById("share-aud").value.trim();
    var nonce = document.getElementById("share-nonce").value.trim();
    var names = Array.prototype.slice.call(document.querySelectorAll('#share-claims input[name="claim"]:checked'))
      .map(function (b) { return b.value; });
    if (!aud || !nonce) {
      EP.showError("share-error", t("linkage.share.need"));
      document.getElementById(aud ? "share-nonce" : "share-aud").focus();
      return;
    }
    if (!names.length) { EP.showError("share-error", t("linkage.share.noclaims")); return; }
    if (!sharing || !isValid(sharing)) { EP.showError("share-error", t("linkage.share.invalid")); return; }
    EP.showError("share-error", null);
    try {
      var text = await present(sharing, names, aud, nonce);
      document.getElementById("share-text").value = text;
      EP.show("share-copied", false);
      EP.show("share-result", true);
      drawQR(document.getElementById("share-qr"), text);
      document.getElementById("share-result-h").focus();
    } catch (e) { EP.showError("share-error", t("linkage.share.failed")); }
  });

  document.getElementById("share-copy").addEventListener("click", async function () {
    var area = document.getElementById("share-text");
    try { await navigator.clipboard.writeText(area.value); } catch (e) {
      // No clipboard permission: select the text so the holder can copy it.
      area.focus(); area.select();
      return;
    }
    EP.show("share-copied", true);
  });

  document.getElementById("linkage-request").addEventListener("click", async function () {
    var button = this;
    EP.showError("linkage-error", null);
    EP.show("linkage-signin", false);
    button.disabled = true;
    EP.show("linkage-busy", true);
    try {
      // A key of its own, made here and never extractable, as for an
      // e-permit: the proof can be presented only from this device.
      var pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
      var jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
      var nonce = (await EP.api("POST", "/app/nonce")).nonce;
      var sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, utf8(nonce)));
      var p = await EP.api("POST", "/app/linkage", { holder_key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
        signature: b64u(sig) });
      p.key = pair.privateKey;
      p.saved_at = new Date().toISOString();
      await EP.linkage.put(p);
      proofs.unshift(p);
      render();
      document.getElementById("linkage-h").focus();
    } catch (e) {
      if (e.code === "unauthorized" || e.code === "session_expired") {
        EP.showError("linkage-error", t("linkage.signin.needed"));
        EP.show("linkage-signin", true);
      } else if (e.code === "not_linkable") {
        EP.showError("linkage-error", t("linkage.not_linkable"));
      } else { EP.showError("linkage-error", e); }
    } finally { button.disabled = false; EP.show("linkage-busy", false); }
  });
  document.getElementById("linkage-h").tabIndex = -1;

  // refresh merges the server's states (a revocation by an officer, say)
  // into the saved proofs; offline or signed out it changes nothing.
  async function refresh() {
    var list;
    try {
      if (!(await EP.signedIn())) { return; }
      list = await EP.api("GET", "/app/linkage");
    } catch (e) { return; }
    for (var i = 0; i < proofs.length; i++) {
      var fresh = list.linkage_proofs.filter(function (x) { return x.cti === proofs[i].cti; })[0];
      if (fresh && (fresh.state !== proofs[i].state || fresh.state_reason !== proofs[i].state_reason)) {
        proofs[i].state = fresh.state; proofs[i].state_reason = fresh.state_reason;
        await EP.linkage.put(proofs[i]);
      }
    }
  }

  async function load() {
    try { proofs = await EP.linkage.all(); } catch (e) { proofs = []; }
    proofs = proofs.filter(function (p) { return p.key; });
    proofs.sort(function (a, b) { return Date.parse(b.issued_at) - Date.parse(a.issued_at); });
    await refresh();
    EP.show("linkage-loading", false);
    render();
    fromLink();
    // The link may also be followed while the wallet is already open.
    window.addEventListener("hashchange", fromLink);
  }

  // An institution's link (/wallet#share?aud=…&nonce=…) opens the share
  // form for the newest valid proof. The fragment never reaches a server;
  // it is dropped from the address at once all the same.
  function fromLink() {
    if (!/^#share\?/.test(location.hash)) { return; }
    var req = location.hash;
    history.replaceState(null, "", location.pathname);
    var p = proofs.filter(isValid)[0];
    if (p) { openShare(p); useRequest(req); }
  }
  load();
  // The OpenID4VP side of the wallet (oid4vc.js) presents with the same code.
  window.EPLinkage = { present: present };
})();
