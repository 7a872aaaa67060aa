// The signed trust list of spec/formats.md §1.2 in the browser, as
// verify.ParseSignedTrustList accepts it: a JWS (ES256) by the authority's
// root, whose certificate the gate pinned, listing the issuer keys each
// with its document-signer certificate. The certificates are read here
// with a small strict DER reader (only the fields the profile of §1.2
// uses) and their signatures checked under the root with WebCrypto, so a
// key is used only within its certificate's validity and private key
// usage period. A root on the SM2 curve cannot be checked here (WebCrypto
// has no SM2): parseRoot marks it, and the page verifies online. No I/O.
"use strict";
(function (root) {
  var EP1 = root.EP1;
  var MAX_LIST = 1 << 20, TYP = "epermit-trust-list+jwt";
  var OID = { ec: "2a8648ce3d0201", p256: "2a8648ce3d030107", sm2: "2a811ccf5501822d",
    es256: "2a8648ce3d040302", sm2sm3: "2a811ccf55018375",
    basic: "551d13", usage: "551d0f", ski: "551d0e", aki: "551d23", pkup: "551d10" };
  var P256 = { name: "ECDSA", namedCurve: "P-256" }, ECDSA = { name: "ECDSA", hash: "SHA-256" };

  // TrustListError carries one of the stable codes of §1.2.
  function TrustListError(code, msg) { this.code = code; this.message = msg; }
  function refuse(code, msg) { throw new TrustListError(code, msg); }
  function fmt(msg) { refuse("trust_list_format", msg); }

  function hex(b) { var s = ""; for (var i = 0; i < b.length; i++) { s += (b[i] < 16 ? "0" : "") + b[i].toString(16); } return s; }
  function equal(a, b) { return a.length === b.length && hex(a) === hex(b); }

  // tlv reads one DER element at off, within end: definite, minimal lengths.
  function tlv(b, off, end) {
    if (off + 2 > end) { fmt("der: unexpected end"); }
    var tag = b[off], len = b[off + 1], p = off + 2;
    if ((tag & 0x1f) === 0x1f) { fmt("der: long tag"); }
    if (len & 0x80) {
      var n = len & 0x7f;
      if (n === 0 || n > 3 || p + n > end || b[p] === 0) { fmt("der: bad length"); }
      len = 0;
      for (var i = 0; i < n; i++) { len = len * 256 + b[p + i]; }
      if (len < 128) { fmt("der: non-minimal length"); }
      p += n;
    }
    if (p + len > end) { fmt("der: past the end"); }
    return { tag: tag, start: off, body: p, end: p + len, b: b };
  }
  function content(t) { return t.b.subarray(t.body, t.end); }
  function whole(t) { return t.b.subarray(t.start, t.end); }
  function items(t) {
    var out = [], o = t.body;
    while (o < t.end) { var c = tlv(t.b, o, t.end); out.push(c); o = c.end; }
    return out;
  }
  function want(t, tag, what) { if (!t || t.tag !== tag) { fmt("certificate: " + what); } return t; }

  // time reads UTCTime or GeneralizedTime (Z, whole seconds) as Unix seconds.
  function time(t) {
    var s = String.fromCharCode.apply(null, content(t)), m;
    if (t.tag === 0x17 && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
      m[1] = String((+m[1] >= 50 ? 1900 : 2000) + +m[1]);
    } else if (t.tag !== 0x18 || !(m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) { fmt("certificate: bad time"); }
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
  }

  // parseCertificate reads a certificate of the §1.2 profile: an EC key on
  // P-256 or SM2, signed with ecdsa-with-SHA256 or SM2-with-SM3.
  function parseCertificate(der) {
    var top = want(tlv(der, 0, der.length), 0x30, "not a sequence");
    if (top.end !== der.length) { fmt("certificate: trailing bytes"); }
    var p = items(top);
    if (p.length !== 3) { fmt("certificate: not three parts"); }
    var tbs = want(p[0], 0x30, "tbs"), f = items(tbs), i = 0;
    if (f[0] && f[0].tag === 0xa0) { i++; }
    var alg = hex(content(want(items(want(p[1], 0x30, "algorithm"))[0], 0x06, "algorithm")));
    if (alg !== hex(content(want(items(want(f[i + 1], 0x30, "algorithm"))[0], 0x06, "algorithm")))) { fmt("certificate: algorithms differ"); }
    var sig = content(want(p[2], 0x03, "signature"));
    if (sig[0] !== 0) { fmt("certificate: signature bits"); }
    var validity = items(want(f[i + 3], 0x30, "validity"));
    if (validity.length !== 2) { fmt("certificate: validity"); }
    var spki = want(f[i + 5], 0x30, "key"), k = items(spki), ka = items(want(k[0], 0x30, "key algorithm"));
    if (ka.length !== 2 || hex(content(ka[0])) !== OID.ec) { fmt("certificate: not an EC key"); }
    var curve = hex(content(want(ka[1], 0x06, "curve")));
    var point = content(want(k[1], 0x03, "key bits"));
    if (point.length !== 66 || point[0] !== 0 || point[1] !== 4) { fmt("certificate: not an uncompressed point"); }
    var c = { raw: der, tbs: whole(tbs), issuer: whole(want(f[i + 2], 0x30, "issuer")), subject: whole(want(f[i + 4], 0x30, "subject")),
      notBefore: time(validity[0]), notAfter: time(validity[1]), spki: whole(spki), point: point.subarray(2),
      sigAlg: alg === OID.es256 ? "ES256" : alg === OID.sm2sm3 ? "SM2" : "",
      curve: curve === OID.p256 ? "P-256" : curve === OID.sm2 ? "SM2" : "",
      signature: sig.subarray(1), isCA: false, ski: null, aki: null, usageNotBefore: null, usageNotAfter: null };
    if (!c.sigAlg || !c.curve) { fmt("certificate: algorithm or curve not of the profile"); }
    var ext = f[i + 6];
    if (ext && ext.tag === 0xa3) {
      items(want(items(ext)[0], 0x30, "extensions")).forEach(function (e) {
        var ei = items(want(e, 0x30, "extension")), id = hex(content(want(ei[0], 0x06, "extension id")));
        var v = tlv(ei[ei.length - 1].b, ei[ei.length - 1].body, ei[ei.length - 1].end);
        if (id === OID.basic) { var bc = items(v); c.isCA = !!(bc[0] && bc[0].tag === 0x01 && content(bc[0])[0] === 0xff); }
        else if (id === OID.ski) { c.ski = content(want(v, 0x04, "subject key id")); }
        else if (id === OID.aki) { items(v).forEach(function (a) { if (a.tag === 0x80) { c.aki = content(a); } }); }
        else if (id === OID.pkup) {
          items(v).forEach(function (u) { // [0] and [1] IMPLICIT GeneralizedTime
            var g = { tag: 0x18, body: u.body, end: u.end, b: u.b };
            if (u.tag === 0x80) { c.usageNotBefore = time(g); } else if (u.tag === 0x81) { c.usageNotAfter = time(g); }
          });
        }
      });
    }
    return c;
  }

  // rawSignature turns a DER ECDSA-Sig-Value into r||s, 32 bytes each.
  function rawSignature(der) {
    var seq = tlv(der, 0, der.length), rs = items(seq), out = new Uint8Array(64);
    if (seq.tag !== 0x30 || seq.end !== der.length || rs.length !== 2) { fmt("signature: not r and s"); }
    rs.forEach(function (n, i) {
      var v = content(want(n, 0x02, "signature integer"));
      while (v.length > 32 && v[0] === 0) { v = v.subarray(1); }
      if (v.length > 32) { fmt("signature: integer too long"); }
      out.set(v, 32 * (i + 1) - v.length);
    });
    return out;
  }

  function importKey(c) { return crypto.subtle.importKey("spki", c.spki, P256, true, ["verify"]); }
  async function kidOf(c) { return EP1.b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", c.spki)).subarray(0, 8)); }

  // checkSignatureFrom is pki.Certificate.CheckSignatureFrom: parent is a
  // CA, named as c's issuer, its key id c's authority key id, and its key
  // signed c. Only an ES256 parent can be checked here.
  async function checkSignatureFrom(c, parent) {
    if (!parent.isCA || !equal(c.issuer, parent.subject)) { return false; }
    if (c.aki && parent.ski && !equal(c.aki, parent.ski)) { return false; }
    if (parent.curve !== "P-256" || c.sigAlg !== "ES256") { return false; }
    var sig;
    try { sig = rawSignature(c.signature); } catch (e) { return false; }
    return crypto.subtle.verify(ECDSA, await importKey(parent), sig, c.tbs).catch(function () { return false; });
  }

  function unb64(s) { // standard base64, as x5c holds it
    if (typeof s !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) { fmt("x5c: not base64"); }
    var bin;
    try { bin = atob(s); } catch (e) { fmt("x5c: not base64"); }
    if (btoa(bin) !== s) { fmt("x5c: not canonical base64"); } // as Go's Strict decoding
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }

  // strictB64u decodes base64url without padding, canonical only (no
  // stray bits in the last character), as Go's Strict decoding.
  function strictB64u(s, what) {
    var b;
    try { b = EP1.unb64url(s); } catch (e) { fmt(what + ": not base64url"); }
    if (EP1.b64url(b) !== s) { fmt(what + ": not canonical base64url"); }
    return b;
  }

  // parseRoot reads a root certificate from PEM text or DER bytes and
  // resolves to it with its SHA-256 fingerprint (AB:CD:… as openssl shows
  // it), its kid, and sm2 true when this browser cannot check its lists.
  async function parseRoot(data) {
    var der = data;
    if (typeof data === "string") {
      var m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(data);
      if (!m) { fmt("root: no PEM certificate"); }
      der = unb64(m[1].replace(/\s+/g, ""));
    }
    var c = parseCertificate(new Uint8Array(der));
    if (!c.isCA) { fmt("root: not a CA certificate"); }
    var fp = new Uint8Array(await crypto.subtle.digest("SHA-256", c.raw));
    c.fingerprint = Array.prototype.map.call(fp, function (x) { return (x < 16 ? "0" : "") + x.toString(16).toUpperCase(); }).join(":");
    c.kid = await kidOf(c);
    c.sm2 = c.curve === "SM2";
    return c;
  }

  // strictJSON parses a part of the JWS as an object with only the members
  // allowed.
  function strictJSON(part, allowed, what) {
    var v;
    var b = strictB64u(part, what);
    try { v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b)); } catch (e) { fmt(what + ": not JSON"); }
    members(v, allowed, what);
    return v;
  }
  function members(v, allowed, what) {
    if (!v || typeof v !== "object" || Array.isArray(v)) { fmt(what + ": not an object"); }
    Object.keys(v).forEach(function (k) { if (allowed.indexOf(k) < 0) { fmt(what + ": unknown member " + k); } });
  }
  function int(v, what) { if (!Number.isSafeInteger(v) || v < 0) { fmt(what + " is not a number"); } return v; }

  // acceptTrustList checks a signed list (the JWS text) under rootCert at
  // now, with held the list kept so far (or null), as §1.2 says and in the
  // order verify.ParseSignedTrustList checks: the form of everything first
  // (trust_list_format), then the signatures (trust_list_signature), then
  // the times, then seq. It resolves to {trust, root, seq, iat, exp, iss}:
  // trust is for EP1.verify (keys by kid with their certificates' periods,
  // revoked kids, exp); root is the root to pin from now on (the new one
  // after a rollover). It rejects with a TrustListError.
  async function acceptTrustList(jws, rootCert, held, now, skew) {
    if (typeof jws !== "string" || jws.length > MAX_LIST) { fmt("not a list of at most 1 MiB"); }
    var parts = jws.trim().split(".");
    if (parts.length !== 3) { fmt("not a JWS compact serialization"); }
    var sig = strictB64u(parts[2], "signature");
    var h = strictJSON(parts[0], ["alg", "typ", "kid", "x5c"], "header");
    if (typeof h.alg !== "string" || typeof h.kid !== "string" || h.typ !== TYP) { fmt("header: alg, kid or typ"); }
    var cross = null;
    if (h.x5c !== undefined) { // a root rollover: the new root's certificate by the held one
      if (!Array.isArray(h.x5c) || h.x5c.length !== 1) { fmt("header: x5c must hold one certificate"); }
      cross = parseCertificate(unb64(h.x5c[0]));
      cross.kid = await kidOf(cross);
      if (!cross.isCA || cross.kid !== h.kid) { fmt("header: x5c is not a CA certificate for the signing key"); }
    }
    var c = strictJSON(parts[1], ["iss", "seq", "iat", "exp", "keys", "revoked"], "claims");
    if (typeof c.iss !== "string" || c.iss === "" || !Array.isArray(c.keys) || !Array.isArray(c.revoked)) { fmt("claims: iss, keys or revoked"); }
    int(c.seq, "seq"); int(c.iat, "iat"); int(c.exp, "exp");
    if (c.seq < 1 || !(c.exp > c.iat)) { fmt("claims: seq from 1, exp after iat"); }
    var keys = new Map(), certs = [], revoked = new Map();
    for (var i = 0; i < c.keys.length; i++) {
      var j = c.keys[i];
      members(j, ["kty", "crv", "x", "y", "kid", "alg", "use", "x5c"], "key");
      if (typeof j.kid !== "string" || keys.has(j.kid)) { fmt("key: missing or repeated kid"); }
      if (typeof j.alg !== "string" || j.use !== "sig") { fmt("key " + j.kid + ": alg and use sig"); }
      if (!Array.isArray(j.x5c) || j.x5c.length !== 1) { fmt("key " + j.kid + ": x5c must hold one certificate"); }
      var ds = parseCertificate(unb64(j.x5c[0])), x, y;
      try { x = EP1.unb64url(j.x); y = EP1.unb64url(j.y); } catch (e) { fmt("key " + j.kid + ": coordinates"); }
      if (ds.isCA || j.kty !== "EC" || j.crv !== ds.curve || !equal(ds.point, concat(x, y)) || (await kidOf(ds)) !== j.kid ||
          j.alg !== (ds.curve === "SM2" ? "SM2" : "ES256")) {
        fmt("key " + j.kid + ": x5c is not a DS certificate for this key");
      }
      var e = ds.curve === "SM2" ? { sm2: true } : { key: await importKey(ds) };
      e.notBefore = ds.notBefore; e.notAfter = ds.notAfter;
      e.usageNotBefore = ds.usageNotBefore; e.usageNotAfter = ds.usageNotAfter;
      keys.set(j.kid, e);
      certs.push(ds);
    }
    c.revoked.forEach(function (r) {
      members(r, ["kid", "revoked_at"], "revoked");
      if (typeof r.kid !== "string" || r.kid === "" || revoked.has(r.kid)) { fmt("revoked: kid missing or repeated"); }
      revoked.set(r.kid, int(r.revoked_at, "revoked_at"));
    });

    // The signatures: the held root, or a new root it cross-certified (a
    // device that moved to the new root already holds it: x5c is then moot).
    var signer = rootCert;
    if (h.kid !== rootCert.kid) {
      if (!cross || !(await checkSignatureFrom(cross, rootCert))) { refuse("trust_list_signature", "signed by " + h.kid + ", not by the root held"); }
      if (now < cross.notBefore - skew || now > cross.notAfter + skew) { refuse("trust_list_signature", "the cross certificate is not valid now"); }
      signer = await parseRoot(cross.raw);
    }
    var signed = new TextEncoder().encode(parts[0] + "." + parts[1]);
    if (signer.curve !== "P-256" || h.alg !== "ES256" || sig.length !== 64 ||
        !(await crypto.subtle.verify(ECDSA, await importKey(signer), sig, signed).catch(function () { return false; }))) {
      refuse("trust_list_signature", "the signature does not verify under the root");
    }
    for (var k = 0; k < certs.length; k++) {
      if (!(await checkSignatureFrom(certs[k], signer))) { refuse("trust_list_signature", "a key's certificate is not the root's"); }
    }
    if (c.iat > now + skew) { refuse("trust_list_not_yet_valid", "the list is dated in the future"); }
    if (!(now < c.exp + skew)) { refuse("trust_list_expired", "the list is past its next-update time"); }
    if (held && c.seq < held.seq) { refuse("trust_list_rollback", "the list is older (seq " + c.seq + ") than the one held (" + held.seq + ")"); }
    return { trust: { keys: keys, revoked: revoked, exp: c.exp, seq: c.seq }, root: signer, seq: c.seq, iat: c.iat, exp: c.exp, iss: c.iss };
  }
  function concat(a, b) { var o = new Uint8Array(a.length + b.length); o.set(a); o.set(b, a.length); return o; }

  EP1.parseRoot = parseRoot;
  EP1.parseCertificate = parseCertificate;
  EP1.acceptTrustList = acceptTrustList;
  EP1.TrustListError = TrustListError;
})(typeof self !== "undefined" ? self : this);
