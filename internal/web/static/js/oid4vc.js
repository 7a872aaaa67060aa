// The wallet's side of OpenID4VCI and OpenID4VP (spec/formats.md §9, §10):
// open a credential offer (link or QR), redeem it with the transaction
// code sent to the phone on record, binding the credential to a fresh
// non-extractable device key; or open an institution's presentation
// request, check that the authority vouches for the institution, show who
// asks, why and for what, and on consent send only those claims.
"use strict";
(function () {
  var t = EP.t;
  var PREAUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
  var current = null; // {offer} or {request, who}
  function utf8(s) { return new TextEncoder().encode(s); }
  function b64u(b) { return EPCose.toBase64url(b); }
  function part(p) { return JSON.parse(new TextDecoder().decode(EPCose.fromBase64url(p))); }
  function sameOrigin(u) { try { return new URL(u).origin === location.origin; } catch (e) { return false; } }
  function fail(key) { var e = new Error(t(key)); e.code = key; return e; }

  // call fetches JSON; OAuth errors ({error, error_description}) and
  // problems ({code, detail}) reject with the server's words.
  async function call(url, opts) {
    var resp;
    try { resp = await fetch(url, opts); } catch (e) { throw fail("err.network"); }
    var data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) {
      var code = data && (data.error || data.code);
      var err = new Error(code && EP.t("oid4vc.err." + code) !== "oid4vc.err." + code ? t("oid4vc.err." + code)
        : (data && (data.error_description || data.detail)) || t("err.internal"));
      err.code = code; throw err;
    }
    return data;
  }
  function form(url, fields) {
    return call(url, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString() });
  }
  function params(link, scheme) {
    return new URL(link.replace(scheme, "https://wallet.invalid/")).searchParams;
  }

  // verifyJWS checks an ES256 JWS of the authority. WebCrypto has no SM2:
  // a request signed by an SM2 key (spec §1.1) is refused as such, not
  // as unverified.
  async function verifyJWS(compact, jwk) {
    if (jwk.crv === "SM2") { throw fail("oid4vc.err.sm2"); }
    if (jwk.kty !== "EC" || jwk.crv !== "P-256") { return false; }
    var p = compact.split(".");
    var key = await crypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
      { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, EPCose.fromBase64url(p[2]), utf8(p[0] + "." + p[1]));
  }

  // ---- Issuance (OpenID4VCI, pre-authorized code) ----

  async function resolveOffer(link) {
    var q = params(link, /^openid-credential-offer:\/\/\/?/);
    var offer;
    if (q.get("credential_offer")) { offer = JSON.parse(q.get("credential_offer")); }
    else if (q.get("credential_offer_uri") && sameOrigin(q.get("credential_offer_uri"))) { offer = await call(q.get("credential_offer_uri")); }
    else { throw fail("oid4vc.err.foreign"); }
    if (!sameOrigin(offer.credential_issuer) || !offer.grants || !offer.grants[PREAUTH]) { throw fail("oid4vc.err.foreign"); }
    return offer;
  }

  // cbor decodes the definite-length CBOR the e-permit uses (spec §2).
  function cbor(b) {
    var i = 0;
    function arg(ai) {
      if (ai < 24) { return ai; }
      var n = { 24: 1, 25: 2, 26: 4, 27: 8 }[ai], v = 0;
      for (var k = 0; k < n; k++) { v = v * 256 + b[i++]; }
      return v;
    }
    function item() {
      var ib = b[i++], mt = ib >> 5, ai = ib & 31;
      if (mt === 7) { return ai === 21 ? true : ai === 20 ? false : null; }
      var n = arg(ai), v, k;
      switch (mt) {
        case 0: return n;
        case 1: return -1 - n;
        case 2: v = b.slice(i, i + n); i += n; return v;
        case 3: v = new TextDecoder().decode(b.slice(i, i + n)); i += n; return v;
        case 4: v = []; for (k = 0; k < n; k++) { v.push(item()); } return v;
        case 5: v = new Map(); for (k = 0; k < n; k++) { var key = item(); v.set(key, item()); } return v;
        default: return item(); // a tag: its content
      }
    }
    return item();
  }
  function hex(b) { return Array.prototype.map.call(b, function (x) { return (x < 16 ? "0" : "") + x.toString(16); }).join(""); }
  function iso(s) { return new Date(s * 1000).toISOString(); }

  // epermitEntry is the wallet entry of an e-permit, read from its CWT.
  function epermitEntry(b64) {
    var sign1 = cbor(EPCose.fromBase64url(b64)), c = cbor(sign1[2]), p = c.get(-70001);
    var docs = { 1: "hk", 2: "mo", 3: "tw" }, sexes = { 1: "male", 2: "female" }, uses = { 1: "flight", 2: "train", 3: "border" };
    return { cti: hex(c.get(7)), credential: b64, state: "active", issued_at: iso(c.get(6)), not_before: iso(c.get(5)),
      expires_at: iso(c.get(4)), holder: { name: p.get(4), latin_name: p.get(5), document_type: docs[p.get(2)],
        document_number: p.get(3), birth_date: p.get(7), sex: sexes[p.get(6)],
        scopes: (p.get(8) || []).map(function (s) { return uses[s]; }) } };
  }
  function linkageEntry(sdjwt) {
    var c = part(sdjwt.split("~")[0].split(".")[1]);
    return { cti: "wallet-" + hex(crypto.getRandomValues(new Uint8Array(8))), credential: sdjwt, state: "active",
      issued_at: iso(c.iat), expires_at: iso(c.exp) };
  }

  async function redeem(offer, txCode) {
    var iss = offer.credential_issuer;
    var md = await call(iss + "/.well-known/openid-credential-issuer");
    var as = await call(iss + "/.well-known/oauth-authorization-server");
    if (!sameOrigin(md.credential_endpoint) || !sameOrigin(md.nonce_endpoint) || !sameOrigin(as.token_endpoint)) { throw fail("oid4vc.err.foreign"); }
    var tok = await form(as.token_endpoint, { grant_type: PREAUTH,
      "pre-authorized_code": offer.grants[PREAUTH]["pre-authorized_code"], tx_code: txCode });
    var nonce = (await call(md.nonce_endpoint, { method: "POST" })).c_nonce;
    var pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    var jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
    var input = b64u(utf8(JSON.stringify({ alg: "ES256", typ: "openid4vci-proof+jwt",
      jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } }))) + "." +
      b64u(utf8(JSON.stringify({ aud: iss, iat: Math.floor(Date.now() / 1000), nonce: nonce })));
    var sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, utf8(input)));
    var config = offer.credential_configuration_ids[0];
    var res = await call(md.credential_endpoint, { method: "POST", headers: { "Content-Type": "application/json",
      "Authorization": "Bearer " + tok.access_token },
      body: JSON.stringify({ credential_configuration_id: config, proofs: { jwt: [input + "." + b64u(sig)] } }) });
    var cred = res.credentials[0].credential, entry;
    if (md.credential_configurations_supported[config].format === "dc+sd-jwt") {
      entry = linkageEntry(cred); entry.key = pair.privateKey; entry.saved_at = new Date().toISOString();
      await EP.linkage.put(entry);
    } else {
      entry = epermitEntry(cred); entry.key = pair.privateKey; entry.saved_at = new Date().toISOString();
      await EP.wallet.put(entry);
    }
  }

  // ---- Presentation (OpenID4VP, direct_post) ----

  // resolveRequest fetches the request object and checks it as spec §10
  // says: the verifier attestation is signed by a key of the authority's
  // trust list and names the client; the request is signed by the key the
  // attestation binds.
  async function resolveRequest(link) {
    var q = params(link, /^openid4vp:\/\/\/?/), uri = q.get("request_uri");
    if (!uri || !sameOrigin(uri)) { throw fail("oid4vc.err.foreign"); }
    var resp;
    try { resp = await fetch(uri); } catch (e) { throw fail("err.network"); }
    if (!resp.ok) { var d = await resp.json().catch(function () { return null; }); var e = new Error((d && d.error_description) || t("err.internal")); e.code = d && d.error; throw e; }
    var jws = await resp.text(), p = jws.split("."), h = part(p[0]), req = part(p[1]);
    if (h.alg === "SM2") { throw fail("oid4vc.err.sm2"); }
    if (h.typ !== "oauth-authz-req+jwt" || h.alg !== "ES256" || typeof h.jwt !== "string") { throw fail("oid4vc.err.unverified"); }
    var a = h.jwt.split("."), ah = part(a[0]), att = part(a[1]);
    var jwks = await call("/.well-known/jwks.json");
    var key = jwks.keys.filter(function (k) { return k.kid === ah.kid; })[0];
    if (ah.typ !== "verifier-attestation+jwt" || !key || !sameOrigin(att.iss) || !(await verifyJWS(h.jwt, key)) ||
      att.exp * 1000 < Date.now() || req.client_id !== "verifier_attestation:" + att.sub ||
      (q.get("client_id") && q.get("client_id") !== req.client_id) || !(await verifyJWS(jws, att.cnf.jwk)) ||
      req.response_mode !== "direct_post" || !sameOrigin(req.response_uri)) { throw fail("oid4vc.err.unverified"); }
    var cq = req.dcql_query.credentials[0];
    return { request: req, who: att.client_name || att.sub, queryID: cq.id, claims: cq.claims.map(function (c) { return c.path[0]; }) };
  }

  async function respond(consent) {
    var r = current.request, fields = { state: r.state };
    if (consent) {
      var proofs = (await EP.linkage.all()).filter(function (p) {
        return p.key && p.state === "active" && Date.parse(p.expires_at) > Date.now();
      });
      proofs.sort(function (a, b) { return Date.parse(b.issued_at) - Date.parse(a.issued_at); });
      if (!proofs.length) { throw fail("oid4vc.err.noproof"); }
      var pres = await EPLinkage.present(proofs[0], current.claims, r.client_id, r.nonce);
      var vp = {}; vp[current.queryID] = [pres];
      fields.vp_token = JSON.stringify(vp);
    } else { fields.error = "access_denied"; }
    await form(r.response_uri, fields);
  }

  // ---- The page ----

  function reset() {
    current = null;
    EP.show("offer-panel", false); EP.show("vp-panel", false); EP.showError("oid4vc-error", null);
  }
  function done(key) {
    reset();
    var el = document.getElementById("oid4vc-done");
    el.textContent = t(key); el.hidden = false; el.focus();
  }

  async function open(link) {
    reset();
    EP.show("oid4vc-done", false);
    link = (link || "").trim();
    try {
      if (/^openid-credential-offer:/.test(link)) {
        current = { offer: await resolveOffer(link) };
        EP.show("offer-panel", true);
        document.getElementById("tx-code").focus();
      } else if (/^openid4vp:/.test(link)) {
        var r = await resolveRequest(link);
        current = r;
        document.getElementById("vp-who").textContent = r.who;
        document.getElementById("vp-purpose").textContent = r.request.purpose || "—";
        var ul = document.getElementById("vp-claims");
        ul.textContent = "";
        r.claims.forEach(function (c) { var li = document.createElement("li"); li.textContent = t("linkage.claim." + c); ul.appendChild(li); });
        EP.show("vp-panel", true);
        document.getElementById("vp-accept").focus();
      } else { throw fail("oid4vc.err.link"); }
    } catch (e) { EP.showError("oid4vc-error", e); }
  }

  document.getElementById("oid4vc-open").addEventListener("click", function () { open(document.getElementById("oid4vc-link").value); });
  document.getElementById("oid4vc-qr-file").addEventListener("change", async function () {
    var f = this.files[0];
    if (!f) { return; }
    try {
      var url = URL.createObjectURL(f), img = new Image();
      await new Promise(function (resolve, reject) { img.onload = resolve; img.onerror = reject; img.src = url; });
      var c = document.createElement("canvas");
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      var g = c.getContext("2d"); g.drawImage(img, 0, 0);
      URL.revokeObjectURL(url);
      var d = g.getImageData(0, 0, c.width, c.height);
      var code = jsQR(d.data, d.width, d.height, { inversionAttempts: "attemptBoth" });
      if (!code) { throw fail("oid4vc.err.qr"); }
      document.getElementById("oid4vc-link").value = code.data;
      open(code.data);
    } catch (e) { EP.showError("oid4vc-error", e); }
  });
  document.getElementById("offer-redeem").addEventListener("click", async function () {
    var b = this;
    EP.showError("oid4vc-error", null);
    b.disabled = true;
    try {
      await redeem(current.offer, document.getElementById("tx-code").value.trim());
      done("oid4vc.redeemed");
      setTimeout(function () { location.reload(); }, 800);
    } catch (e) { EP.showError("oid4vc-error", e); } finally { b.disabled = false; }
  });
  document.getElementById("vp-accept").addEventListener("click", async function () {
    try { await respond(true); done("oid4vc.sent"); } catch (e) { EP.showError("oid4vc-error", e); }
  });
  document.getElementById("vp-decline").addEventListener("click", async function () {
    try { await respond(false); done("oid4vc.declined"); } catch (e) { EP.showError("oid4vc-error", e); }
  });
  document.getElementById("oid4vc-done").tabIndex = -1;

  // A link to the wallet (/wallet#oid4vc=<offer or request>) opens it; the
  // fragment never reaches a server and is dropped from the address.
  function fromLink() {
    var m = /^#oid4vc=(.*)$/.exec(location.hash);
    if (!m) { return; }
    history.replaceState(null, "", location.pathname);
    var link = decodeURIComponent(m[1]);
    document.getElementById("oid4vc-link").value = link;
    open(link);
  }
  window.addEventListener("hashchange", fromLink);
  fromLink();
})();
