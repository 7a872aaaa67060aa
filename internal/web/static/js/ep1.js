// The offline verifier of spec/formats.md §4 in the browser: the twelve
// checks, in the order and with the codes of the Go verify package, so that
// the gate page decides alike with or without the network. Strict base45,
// a strict CBOR reader (definite lengths, no duplicate keys, nesting ≤ 8),
// COSE_Sign1 over its Sig_structure, ECDSA P-256 through WebCrypto (the
// holder's compressed cnf point decompressed here, since WebCrypto takes
// only whole points), the status list CWT of §5 with its zlib list inflated
// by DecompressionStream, and a bounded replay cache. No I/O: the page
// (gate.js) fetches and stores the trust data and hands it in.
"use strict";
(function (root) {
  var MAX_CBOR = 2048, MAX_NESTING = 8, PREFIX = "EP1:";
  var MAX_QR_TEXT = PREFIX.length + MAX_CBOR / 2 * 3;
  var MAX_STATUS_LIST_BYTES = 16 << 20;
  var MAX_STATUS_LIST_CWT = MAX_STATUS_LIST_BYTES + MAX_STATUS_LIST_BYTES / 64 + 4096;
  var ALG_ES256 = -7, ALG_SM2 = -70100;
  var STATUS_TYP = "application/statuslist+cwt";
  var INT64_MAX = 9223372036854775807n;

  // FormatError is any failure of checks 1–3 (and of a status list's form).
  function FormatError(msg) { this.message = msg; }
  function fail(msg) { throw new FormatError(msg); }

  // base45 (RFC 9285), strictly: no stray character, no triplet over 65535,
  // no final pair over 255, no dangling character.
  var B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  var B45V = new Uint8Array(256).fill(255);
  for (var i = 0; i < B45.length; i++) { B45V[B45.charCodeAt(i)] = i; }
  function base45(s) {
    var out = new Uint8Array(Math.floor(s.length / 3) * 2 + (s.length % 3 === 2 ? 1 : 0)), o = 0;
    for (var i = 0; i < s.length; i += 3) {
      if (i + 1 === s.length) { fail("base45: dangling character"); }
      var c = val(s, i), d = val(s, i + 1);
      if (i + 2 === s.length) {
        var n2 = c + d * 45;
        if (n2 > 0xff) { fail("base45: final pair over 255"); }
        out[o++] = n2;
        break;
      }
      var n = c + d * 45 + val(s, i + 2) * 2025;
      if (n > 0xffff) { fail("base45: triplet over 65535"); }
      out[o++] = n >> 8; out[o++] = n & 0xff;
    }
    return out;
  }
  function val(s, i) {
    var c = s.charCodeAt(i);
    var v = c < 256 ? B45V[c] : 255;
    if (v === 255) { fail("base45: stray character"); }
    return v;
  }

  var utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

  // Reader reads one CBOR document the way credential/cbor.go does. An
  // argument is a Number, or a BigInt when over 2^53 (comparisons mix).
  function Reader(b) { this.b = b; this.off = 0; this.depth = 0; }
  Reader.prototype.head = function () {
    var b = this.b;
    if (this.off >= b.length) { fail("cbor: unexpected end"); }
    var ib = b[this.off++], major = ib >> 5, ai = ib & 0x1f, arg;
    if (ai < 24) { arg = ai; }
    else if (ai <= 27) {
      var n = 1 << (ai - 24);
      if (b.length - this.off < n) { fail("cbor: unexpected end"); }
      if (n <= 4) {
        arg = 0;
        for (var j = 0; j < n; j++) { arg = arg * 256 + b[this.off + j]; }
      } else {
        var big = 0n;
        for (var k = 0; k < 8; k++) { big = (big << 8n) | BigInt(b[this.off + k]); }
        arg = big <= 9007199254740991n ? Number(big) : big;
      }
      this.off += n;
    } else if (ai === 31) {
      fail(major >= 2 && major <= 5 ? "cbor: indefinite length" : "cbor: break or reserved");
    } else { fail("cbor: reserved additional information"); }
    if (major === 7 && ai === 24 && arg < 32) { fail("cbor: bad simple value"); }
    return { major: major, ai: ai, arg: arg };
  };
  Reader.prototype.remaining = function () { return this.b.length - this.off; };
  Reader.prototype.done = function () { if (this.off !== this.b.length) { fail("cbor: trailing bytes"); } };
  Reader.prototype.take = function (n) {
    if (n > this.remaining()) { fail("cbor: string past the end"); }
    var s = this.b.subarray(this.off, this.off + Number(n));
    this.off += Number(n);
    return s;
  };
  Reader.prototype.takeText = function (n) {
    var s = this.take(n);
    try { return utf8.decode(s); } catch (e) { fail("cbor: text is not UTF-8"); }
  };
  function intValue(h) {
    if (h.major !== 0 && h.major !== 1) { fail("cbor: expected integer"); }
    if (h.arg > INT64_MAX) { fail("cbor: integer out of range"); }
    if (h.major === 1) { return typeof h.arg === "bigint" ? Number(-1n - h.arg) : -1 - h.arg; }
    return Number(h.arg);
  }
  Reader.prototype.readInt = function () { return intValue(this.head()); };
  Reader.prototype.readUint = function () {
    var h = this.head();
    if (h.major !== 0) { fail("cbor: expected unsigned integer"); }
    return Number(h.arg);
  };
  Reader.prototype.readBytes = function () {
    var h = this.head();
    if (h.major !== 2) { fail("cbor: expected byte string"); }
    return this.take(h.arg);
  };
  Reader.prototype.readText = function () {
    var h = this.head();
    if (h.major !== 3) { fail("cbor: expected text"); }
    return this.takeText(h.arg);
  };
  Reader.prototype.readBool = function () {
    var h = this.head();
    if (h.major === 7 && (h.ai === 20 || h.ai === 21)) { return h.ai === 21; }
    fail("cbor: expected bool");
  };
  Reader.prototype.peek = function () {
    if (this.off >= this.b.length) { fail("cbor: unexpected end"); }
    return { major: this.b[this.off] >> 5, ai: this.b[this.off] & 0x1f };
  };
  Reader.prototype.enter = function () { if (++this.depth > MAX_NESTING) { fail("cbor: nested too deep"); } };
  Reader.prototype.leave = function () { this.depth--; };
  Reader.prototype.container = function (count, per) {
    if (count > Math.floor(this.remaining() / per)) { fail("cbor: more items than bytes"); }
    this.enter();
    return Number(count);
  };
  Reader.prototype.readArray = function () {
    var h = this.head();
    if (h.major !== 4) { fail("cbor: expected array"); }
    return this.container(h.arg, 1);
  };
  Reader.prototype.readTag = function (want) {
    var h = this.head();
    if (h.major !== 6 || h.arg !== want) { fail("cbor: expected tag " + want); }
    this.enter();
  };
  // readKey reads a map key (integer, byte or text string only) and
  // refuses one seen before in the same map; integers compare by value.
  Reader.prototype.readKey = function (seen) {
    var h = this.head(), k;
    if (h.major === 0 || h.major === 1) { k = { major: h.major, int: intKey(h), id: h.major + ":" + String(h.arg) }; }
    else if (h.major === 2) { var bs = this.take(h.arg); k = { major: 2, id: "2:" + Array.prototype.join.call(bs, ",") }; }
    else if (h.major === 3) { var tx = this.takeText(h.arg); k = { major: 3, text: tx, id: "3:" + tx }; }
    else { fail("cbor: map key is not an integer or string"); }
    if (seen.has(k.id)) { fail("cbor: duplicate map key"); }
    seen.add(k.id);
    return k;
  };
  function intKey(h) { return h.arg > INT64_MAX ? null : intValue(h); }
  // eachEntry walks a map; fn must read or skip each value.
  Reader.prototype.eachEntry = function (fn) {
    var h = this.head();
    if (h.major !== 5) { fail("cbor: expected map"); }
    var n = this.container(h.arg, 2), seen = new Set();
    for (; n > 0; n--) { fn(this.readKey(seen)); }
    this.leave();
  };
  Reader.prototype.skip = function () {
    var h = this.head(), n;
    switch (h.major) {
      case 2: this.take(h.arg); break;
      case 3: this.takeText(h.arg); break;
      case 4:
        n = this.container(h.arg, 1);
        for (; n > 0; n--) { this.skip(); }
        this.leave(); break;
      case 5:
        n = this.container(h.arg, 2);
        var seen = new Set();
        for (; n > 0; n--) { this.readKey(seen); this.skip(); }
        this.leave(); break;
      case 6:
        this.enter(); this.skip(); this.leave(); break;
    }
  };
  function uintKey(k, label) { return k.major === 0 && k.int === label; }

  // readSign1 splits a tagged COSE_Sign1 (credential/cose.go readSign1).
  function readSign1(b, limit) {
    if (b.length > limit) { fail("cose: too long"); }
    var r = new Reader(b);
    r.readTag(18);
    if (r.readArray() !== 4) { fail("cose: not an array of 4"); }
    var s = { protected: r.readBytes(), kid: null, payload: null, detached: false };
    r.eachEntry(function (k) {
      if (uintKey(k, 4)) { s.kid = r.readBytes(); }
      else if (uintKey(k, 1) || uintKey(k, 2)) { fail("cose: alg or crit unprotected"); }
      else { r.skip(); }
    });
    var p = r.peek();
    if (p.major === 7 && p.ai === 22) { r.off++; s.detached = true; } else { s.payload = r.readBytes(); }
    s.signature = r.readBytes();
    r.leave(); r.leave(); r.done();
    return s;
  }

  function parseProtected(b) {
    var h = { alg: 0, iat: 0, hasIAT: false, typ: "" };
    if (b.length === 0) { return h; }
    var r = new Reader(b);
    r.eachEntry(function (k) {
      if (uintKey(k, 1)) {
        if (r.peek().major === 3) { r.readText(); } else { h.alg = r.readInt(); }
      } else if (uintKey(k, 2)) { fail("cose: crit");
      } else if (uintKey(k, 15)) {
        r.eachEntry(function (c) {
          if (uintKey(c, 6)) { h.iat = r.readInt(); h.hasIAT = true; } else { r.skip(); }
        });
      } else if (uintKey(k, 16) && r.peek().major === 3) { h.typ = r.readText();
      } else { r.skip(); }
    });
    r.done();
    return h;
  }

  // P-256 (SEC 2) for the cnf point: on the curve, decompressed when y is
  // only its sign (RFC 9053 §7.1.1: true means odd).
  var P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
  var B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
  function toBig(b) { var v = 0n; for (var i = 0; i < b.length; i++) { v = (v << 8n) | BigInt(b[i]); } return v; }
  function fromBig(v, out, at) { for (var i = 31; i >= 0; i--) { out[at + i] = Number(v & 0xffn); v >>= 8n; } }
  function modpow(b, e) { var r = 1n; b %= P; while (e > 0n) { if (e & 1n) { r = r * b % P; } b = b * b % P; e >>= 1n; } return r; }
  function rhs(x) { return ((x * x % P * x - 3n * x + B) % P + P) % P; }
  function ecPoint(x, y, compressed, odd) {
    var X = toBig(x), pt = new Uint8Array(65);
    if (X >= P) { return null; }
    var r = rhs(X), Y;
    if (compressed) {
      Y = modpow(r, (P + 1n) / 4n);
      if (Y * Y % P !== r) { return null; }
      if ((Y & 1n) !== (odd ? 1n : 0n)) { Y = (P - Y) % P; }
      if (Y === 0n && odd) { return null; }
    } else {
      Y = toBig(y);
      if (Y >= P || Y * Y % P !== r) { return null; }
    }
    pt[0] = 4; pt.set(x, 1); fromBig(Y, pt, 33);
    return pt;
  }
  function readCOSEKey(r) {
    var kty = 0, crv = 0, x = null, y = null, odd = false, compressed = false, haveY = false;
    r.eachEntry(function (k) {
      var l = k.int === undefined || k.int === null ? 0 : k.int;
      if (l === 1) { kty = r.readInt(); }
      else if (l === -1) { crv = r.readInt(); }
      else if (l === -2) { x = r.readBytes(); }
      else if (l === -3) {
        haveY = true;
        if (r.peek().major === 7) { compressed = true; odd = r.readBool(); } else { y = r.readBytes(); }
      } else { r.skip(); }
    });
    if (kty !== 2 || crv !== 1 || !x || x.length !== 32 || !haveY || (!compressed && y.length !== 32)) { fail("cnf is not an EC2 P-256 key"); }
    var pt = ecPoint(x, y, compressed, odd);
    if (!pt) { fail("cnf is not on P-256"); }
    return pt;
  }
  function readFixed(r, n) { var s = r.readBytes(); if (s.length !== n) { fail("cbor: wrong length"); } return s; }

  // parseClaims reads the CWT claims of spec §2 (credential/epermit.go).
  function parseClaims(b) {
    var r = new Reader(b), c = { permit: {} }, have = 0;
    r.eachEntry(function (k) {
      var l = k.int === undefined || k.int === null ? 0 : k.int;
      switch (l) {
        case 1: have |= 1; c.iss = r.readText(); break;
        case 4: have |= 2; c.exp = r.readInt(); break;
        case 5: have |= 4; c.nbf = r.readInt(); break;
        case 6: have |= 8; c.iat = r.readInt(); break;
        case 7: have |= 16; c.cti = readFixed(r, 16); break;
        case 8: have |= 32; c.cnf = null;
          r.eachEntry(function (m) { if (uintKey(m, 1)) { c.cnf = readCOSEKey(r); } else { r.skip(); } });
          if (!c.cnf) { fail("cnf has no COSE_Key"); }
          break;
        case 65535: have |= 64; readStatus(r, c); break;
        case -70001: have |= 128; readPermit(r, c.permit); break;
        default: r.skip();
      }
    });
    if (have !== 255) { fail("a required claim is missing"); }
    r.done();
    return c;
  }
  function readStatus(r, c) {
    var found = false;
    r.eachEntry(function (k) {
      if (k.major !== 3 || k.text !== "status_list") { r.skip(); return; }
      found = true;
      var hi = false, hu = false;
      r.eachEntry(function (m) {
        if (m.major === 3 && m.text === "idx") { hi = true; c.idx = r.readUint(); }
        else if (m.major === 3 && m.text === "uri") { hu = true; c.uri = r.readText(); }
        else { r.skip(); }
      });
      if (!hi || !hu) { fail("status_list needs idx and uri"); }
    });
    if (!found) { fail("status has no status_list"); }
  }
  function readPermit(r, p) {
    var have = 0;
    r.eachEntry(function (k) {
      var l = k.int;
      if (l === undefined || l === null || l < 1 || l > 10) { r.skip(); return; }
      have |= 1 << l;
      switch (l) {
        case 1: p.kind = r.readUint(); break;
        case 2: p.docType = r.readUint(); break;
        case 3: p.docNumber = r.readText(); break;
        case 4: p.name = r.readText(); break;
        case 5: p.latinName = r.readText(); break;
        case 6: p.sex = r.readUint(); break;
        case 7: p.birthDate = r.readText(); break;
        case 8:
          var n = r.readArray(); p.scopes = [];
          for (; n > 0; n--) { p.scopes.push(r.readUint()); }
          r.leave(); break;
        case 9: p.portrait = readFixed(r, 16); break;
        case 10: p.reason = r.readUint(); break;
      }
    });
    if (have !== 0x7fe) { fail("a required permit field is missing"); }
  }

  // parseQR runs checks 1–3 (credential.ParseQR); it throws FormatError.
  function parseQR(text) {
    if (text.slice(0, PREFIX.length) !== PREFIX) { fail("prefix"); }
    var rest = text.slice(PREFIX.length);
    var buf = base45(rest); // a base45 error is reported before the length
    if (text.length > MAX_QR_TEXT || buf.length > MAX_CBOR) { fail("too long"); }
    var r = new Reader(buf);
    if (r.readArray() !== 2) { fail("not [credential, proof]"); }
    var cred = r.readBytes(), proof = r.readBytes();
    r.leave(); r.done();
    var s = readSign1(cred, MAX_CBOR);
    if (s.detached) { fail("credential payload detached"); }
    var h = parseProtected(s.protected);
    var claims = parseClaims(s.payload);
    var ps = readSign1(proof, MAX_CBOR);
    if (!ps.detached) { fail("proof payload not detached"); }
    var ph = parseProtected(ps.protected);
    if (!ph.hasIAT) { fail("proof has no iat"); }
    return { raw: cred, alg: h.alg, kid: s.kid, protected: s.protected, payload: s.payload, signature: s.signature,
      claims: claims, proofAlg: ph.alg, proofIAT: ph.iat, proofProtected: ps.protected, proofSignature: ps.signature };
  }

  // sigStructure is ["Signature1", protected, h'', payload] (RFC 9052 §4.4).
  function bstrHead(n) {
    if (n < 24) { return [0x40 | n]; }
    if (n < 0x100) { return [0x58, n]; }
    if (n < 0x10000) { return [0x59, n >> 8, n & 0xff]; }
    return [0x5a, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  }
  var SIG1 = [0x84, 0x6a, 0x53, 0x69, 0x67, 0x6e, 0x61, 0x74, 0x75, 0x72, 0x65, 0x31];
  function sigStructure(prot, payload) {
    var h1 = bstrHead(prot.length), h2 = bstrHead(payload.length);
    var out = new Uint8Array(SIG1.length + h1.length + prot.length + 1 + h2.length + payload.length), o = 0;
    out.set(SIG1, o); o += SIG1.length;
    out.set(h1, o); o += h1.length; out.set(prot, o); o += prot.length;
    out[o++] = 0x40;
    out.set(h2, o); o += h2.length; out.set(payload, o);
    return out;
  }
  var ECDSA = { name: "ECDSA", hash: "SHA-256" }, P256 = { name: "ECDSA", namedCurve: "P-256" };
  function verifySig(key, sig, data) {
    if (sig.length !== 64) { return Promise.resolve(false); }
    return crypto.subtle.verify(ECDSA, key, sig, data).catch(function () { return false; });
  }

  function b64url(b) {
    var s = "";
    for (var i = 0; i < b.length; i++) { s += String.fromCharCode(b[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64url(s) {
    if (!/^[A-Za-z0-9_-]*$/.test(s)) { throw new Error("not base64url"); }
    var bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }
  function hex(b) { var s = ""; for (var i = 0; i < b.length; i++) { s += (b[i] < 16 ? "0" : "") + b[i].toString(16); } return s; }

  // sm2Kid derives an SM2 key's kid as spec §1.1 says: SHA-256 over the
  // DER SubjectPublicKeyInfo (id-ecPublicKey, curve 1.2.156.10197.1.301).
  var SM2_SPKI = [0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, 0x03, 0x42, 0x00, 0x04];
  async function sm2Kid(j) {
    var x = unb64url(j.x), y = unb64url(j.y);
    if (x.length !== 32 || y.length !== 32) { throw new Error("trust list: key " + j.kid + " has bad coordinates"); }
    var der = new Uint8Array(SM2_SPKI.length + 64);
    der.set(SM2_SPKI); der.set(x, SM2_SPKI.length); der.set(y, SM2_SPKI.length + 32);
    return b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", der)).subarray(0, 8));
  }

  // importTrustList reads a JWK Set (spec §1): every EC P-256 key must have
  // the kid derived from its SubjectPublicKeyInfo. Keys of the SM2 suite
  // (spec §1.1) are kept by kid only, to answer "needs the online check":
  // WebCrypto cannot verify SM2. It resolves to {keys: Map kid → {key} | {sm2: true}}.
  async function importTrustList(jwks) {
    if (!jwks || !Array.isArray(jwks.keys)) { throw new Error("trust list: no keys"); }
    var keys = new Map();
    for (var i = 0; i < jwks.keys.length; i++) {
      var j = jwks.keys[i];
      if (typeof j.kid !== "string" || keys.has(j.kid)) { throw new Error("trust list: missing or repeated kid"); }
      if (j.crv === "SM2") {
        if (j.kty !== "EC" || (j.alg && j.alg !== "SM2")) { throw new Error("trust list: key " + j.kid + " is not an SM2 key"); }
        if ((await sm2Kid(j)) !== j.kid) { throw new Error("trust list: kid " + j.kid + " is not the key's"); }
        keys.set(j.kid, { sm2: true });
        continue;
      }
      if (j.kty !== "EC" || j.crv !== "P-256" || (j.alg && j.alg !== "ES256")) { throw new Error("trust list: key " + j.kid + " is not ES256"); }
      var key = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: j.x, y: j.y, ext: true }, P256, true, ["verify"]);
      var spki = new Uint8Array(await crypto.subtle.exportKey("spki", key));
      var kid = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", spki)).subarray(0, 8));
      if (kid !== j.kid) { throw new Error("trust list: kid " + j.kid + " is not the key's"); }
      keys.set(j.kid, { key: key });
    }
    return { keys: keys };
  }

  // inflate decompresses a zlib stream strictly (checksum, nothing after
  // it), stopping past MAX_STATUS_LIST_BYTES, as DecompressStatusList does.
  async function inflate(lst) {
    var ds = new DecompressionStream("deflate");
    var writer = ds.writable.getWriter();
    writer.write(lst).catch(function () {});
    writer.close().catch(function () {});
    var reader = ds.readable.getReader(), parts = [], n = 0;
    try {
      for (;;) {
        var c = await reader.read();
        if (c.done) { break; }
        n += c.value.length;
        if (n > MAX_STATUS_LIST_BYTES) { reader.cancel().catch(function () {}); fail("status list: over the bound"); }
        parts.push(c.value);
      }
    } catch (e) { if (e instanceof FormatError) { throw e; } fail("status list: lst does not decompress"); }
    if (n === 0) { fail("status list: empty"); }
    var out = new Uint8Array(n), o = 0;
    parts.forEach(function (p) { out.set(p, o); o += p.length; });
    return out;
  }

  // parseStatusList parses and verifies a CWT status list token (spec §5,
  // credential.ParseStatusListCWT) against trust; it resolves to
  // {sub, iat, exp, ttl, kid, list} or rejects. A list under an SM2 key
  // (spec §1.1; WebCrypto has no SM2) cannot be verified here: it resolves
  // to {…, sm2: true, list: null}, never read for an entry, which makes
  // verify answer "needs_online" for the credentials on it.
  async function parseStatusList(b, trust) {
    var s = readSign1(b, MAX_STATUS_LIST_CWT);
    if (s.detached) { fail("status list: detached"); }
    var h = parseProtected(s.protected);
    var e = s.kid && s.kid.length ? trust.keys.get(b64url(s.kid)) : null;
    if (h.alg !== (e && e.sm2 ? ALG_SM2 : ALG_ES256)) { fail("status list: algorithm"); }
    if (h.typ !== STATUS_TYP) { fail("status list: typ"); }
    if (!e) { fail("status list: unknown key"); }
    if (!e.sm2 && !(await verifySig(e.key, s.signature, sigStructure(s.protected, s.payload)))) { fail("status list: bad signature"); }
    var r = new Reader(s.payload), t = {}, have = 0, lst = null;
    r.eachEntry(function (k) {
      var l = k.int === undefined || k.int === null ? 0 : k.int;
      switch (l) {
        case 2: have |= 1; t.sub = r.readText(); break;
        case 6: have |= 2; t.iat = r.readInt(); break;
        case 4: have |= 4; t.exp = r.readInt(); break;
        case 65534: have |= 8; t.ttl = r.readInt(); break;
        case 65533: have |= 16;
          var bits = null;
          r.eachEntry(function (m) {
            if (m.major === 3 && m.text === "bits") { bits = r.readUint(); }
            else if (m.major === 3 && m.text === "lst") { lst = r.readBytes(); }
            else { r.skip(); }
          });
          if (bits === null || lst === null) { fail("status_list needs bits and lst"); }
          if (bits !== 2) { fail("status_list bits must be 2"); }
          break;
        default: r.skip();
      }
    });
    r.done();
    if (have !== 31) { fail("status list: a claim is missing"); }
    if (t.sub === "") { fail("status list: empty sub"); }
    if (!(t.exp > t.iat)) { fail("status list: exp not after iat"); }
    if (t.ttl < 1 || t.ttl > 366 * 24 * 3600) { fail("status list: ttl"); }
    t.kid = b64url(s.kid);
    if (e.sm2) { t.sm2 = true; t.list = null; return t; }
    t.list = await inflate(lst);
    return t;
  }

  // StatusStore holds the newest verified list per URI, by the rules of
  // spec §4 after check 12: a list from beyond the skew is not kept, and
  // one older than the copy held (a rollback) never replaces it.
  function StatusStore(skew) { this.skew = skew || 300; this.lists = new Map(); }
  // offer checks a token fetched from uri at now and keeps it; it resolves
  // to the list kept, or rejects with why the token was not.
  StatusStore.prototype.offer = async function (uri, bytes, trust, now) {
    var t = await parseStatusList(bytes, trust);
    var k = keyFor(trust, t.kid, t.iat, now, this.skew);
    if (k.code) { throw new Error("the list's key: " + k.code); }
    if (t.sub !== uri) { throw new Error("the token is for " + t.sub); }
    if (t.iat > now + this.skew) { throw new Error("the list is dated in the future"); }
    var old = this.lists.get(uri);
    if (old && t.iat < old.iat && !(old.iat > now + this.skew)) { throw new Error("the list is older than the copy held"); }
    t.uri = uri; t.fetched = now;
    this.lists.set(uri, t);
    return t;
  };
  StatusStore.prototype.get = function (uri) { return this.lists.get(uri) || null; };
  StatusStore.prototype.put = function (t) { this.lists.set(t.uri, t); };
  // usable reports whether a list may answer at now (verify.StatusCache):
  // not from the future, younger than its ttl (or maxAge), before exp.
  function usable(t, now, skew, maxAge) {
    var age = Math.max(now - t.iat, 0);
    return !(t.iat > now + skew) && age < (maxAge > 0 ? maxAge : t.ttl) && now < t.exp;
  }
  // needsRefresh reports whether a list held should be fetched again.
  function needsRefresh(t, now, skew, maxAge) {
    if (!t) { return true; }
    var after = maxAge > 0 && maxAge < t.ttl ? maxAge : t.ttl;
    return Math.max(now - t.iat, 0) >= after || now >= t.exp || t.iat > now + skew;
  }

  // ReplayCache is verify.ReplayCache: (cti, proof iat) pairs until their
  // proof would be stale anyway, at most capacity, the oldest forgotten
  // first when full. entries() and load() let the page keep it across
  // reloads.
  function ReplayCache(capacity) { this.max = Math.max(capacity || 100000, 1); this.seen = new Map(); }
  ReplayCache.prototype.check = function (key, now, forget) {
    if (this.seen.has(key)) { return true; }
    // A Map iterates in insertion order: drop from the old end.
    for (var it = this.seen.entries(), e = it.next(); !e.done; e = it.next()) {
      if (this.seen.size < this.max && now < e.value[1]) { break; }
      this.seen.delete(e.value[0]);
    }
    this.seen.set(key, forget);
    return false;
  };
  ReplayCache.prototype.entries = function (now) {
    var out = [];
    this.seen.forEach(function (f, k) { if (f > now) { out.push([k, f]); } });
    return out;
  };
  ReplayCache.prototype.load = function (entries, now) {
    var self = this;
    (entries || []).forEach(function (e) { if (e[1] > now && self.seen.size < self.max) { self.seen.set(e[0], e[1]); } });
  };

  // keyFor is check 4 (spec §4, with a signed trust list §1.2): the entry
  // for kid, or the code of why there is none to use. A plain JWK Set
  // (importTrustList) knows only unknown_key; a signed list
  // (EP1.acceptTrustList) also answers trust_list_expired past its
  // next-update time, key_revoked for a key it revokes, and key_not_valid
  // outside the key's certificate's validity, or when what it signed (at
  // iat) falls outside the certificate's private key usage period.
  function keyFor(trust, kid, iat, now, skew) {
    if (trust.exp !== undefined && !(now < trust.exp + skew)) { return { code: "trust_list_expired" }; }
    if (kid !== null && trust.revoked && trust.revoked.has(kid)) { return { code: "key_revoked" }; }
    var e = kid !== null ? trust.keys.get(kid) : null;
    if (!e) { return { code: "unknown_key" }; }
    if (e.notAfter !== undefined) {
      var from = e.usageNotBefore !== null ? e.usageNotBefore : e.notBefore;
      var until = e.usageNotAfter !== null ? e.usageNotAfter : e.notAfter;
      if (now < e.notBefore - skew || now > e.notAfter + skew || iat < from - skew || iat > until + skew) { return { code: "key_not_valid" }; }
    }
    return { entry: e };
  }

  var DOC = { 1: "hk", 2: "mo", 3: "tw" }, SEX = { 1: "male", 2: "female" };
  var REASON = { 1: "lost", 2: "damaged", 3: "forgotten" }, USE = { 1: "flight", 2: "train", 3: "border" };
  var SCOPE = { flight: 1, train: 2, border: 3 };
  function iso(s) { return new Date(s * 1000).toISOString().replace(".000Z", "Z"); }

  // verify runs the twelve checks on QR text at now (Unix seconds) and
  // resolves to a result shaped like verify.Result's JSON. opts: trust (from
  // importTrustList), status (a StatusStore, or null: status unknown),
  // replay (a ReplayCache), policy {use, proofWindow, skew, maxStatusAge} in
  // seconds. An SM2 credential gives the decision "needs_online".
  async function verify(text, now, opts) {
    var p = opts.policy || {};
    var win = p.proofWindow > 0 ? p.proofWindow : 60, skew = p.skew > 0 ? p.skew : 300, maxAge = p.maxStatusAge || 0;
    var r = { decision: "", use: p.use, checked_at: iso(now) };
    function reject(code) { r.decision = "reject"; r.code = code; return r; }
    var pr;
    try { pr = parseQR(text); } catch (e) { if (e instanceof FormatError) { return reject("format"); } throw e; } // 1–3
    var c = pr.claims;
    var kid = pr.kid ? b64url(pr.kid) : null; // 4
    var k = keyFor(opts.trust, kid, c.iat, now, skew);
    if (k.code) { return reject(k.code); }
    var entry = k.entry;
    // 5: the credential's alg must be its key's (spec §1.1), the proof's ES256.
    if (pr.alg !== (entry.sm2 ? ALG_SM2 : ALG_ES256) || pr.proofAlg !== ALG_ES256) { return reject("algorithm"); }
    // WebCrypto has no SM2: checks 6 on are the authority's to run.
    if (entry.sm2) { r.decision = "needs_online"; r.code = "sm2"; return r; }
    if (!(await verifySig(entry.key, pr.signature, sigStructure(pr.protected, pr.payload)))) { return reject("bad_signature"); } // 6
    r.credential = { cti: hex(c.cti), issuer: c.iss, kid: kid, issued_at: iso(c.iat), not_before: iso(c.nbf),
      expires: iso(c.exp), proof_issued_at: iso(pr.proofIAT), status_uri: c.uri, status_index: c.idx };
    if (now < c.nbf - skew) { return reject("not_yet_valid"); } // 7
    if (!(now < c.exp + skew)) { return reject("expired"); }
    var holder = await crypto.subtle.importKey("raw", c.cnf, P256, false, ["verify"]); // 8
    var credDigest = new Uint8Array(await crypto.subtle.digest("SHA-256", pr.raw));
    if (!(await verifySig(holder, pr.proofSignature, sigStructure(pr.proofProtected, credDigest)))) { return reject("bad_holder_proof"); }
    var d = now - pr.proofIAT; // 9
    if (d > win || d < -win) { return reject("stale_proof"); }
    // A status list under an SM2 key is the authority's to read; decided
    // before the replay check, so that the online check is not refused.
    var sl = opts.status ? opts.status.get(c.uri) : null;
    if (sl && sl.sm2) { r.decision = "needs_online"; r.code = "sm2"; return r; }
    if (opts.replay.check(r.credential.cti + ":" + pr.proofIAT, now, pr.proofIAT + win + 1)) { return reject("replayed"); } // 10
    var want = SCOPE[p.use]; // 11
    if (!want || c.permit.scopes.indexOf(want) < 0) { return reject("scope"); }
    var unknown = true, t = opts.status ? opts.status.get(c.uri) : null; // 12
    if (t && usable(t, now, skew, maxAge) && c.idx < t.list.length * 4) {
      var v = (t.list[Math.floor(c.idx / 4)] >> (2 * (c.idx % 4))) & 3;
      var age = Math.max(now - t.iat, 0);
      if (v <= 2) { r.credential.status_age_seconds = age; }
      if (v <= 2 && !(maxAge > 0 && age > maxAge)) {
        if (v === 1) { return reject("revoked"); }
        if (v === 2) { return reject("suspended"); }
        unknown = false;
      }
    }
    if (unknown) { r.warnings = ["status_unknown"]; r.decision = "accept_with_warning"; } else { r.decision = "accept"; }
    var pm = c.permit;
    r.holder = { document_type: DOC[pm.docType] || "", document_number: pm.docNumber, name: pm.name, latin_name: pm.latinName,
      sex: SEX[pm.sex] || "unknown", birth_date: pm.birthDate,
      scopes: pm.scopes.filter(function (s) { return USE[s]; }).map(function (s) { return USE[s]; }),
      reason: REASON[pm.reason] || "", kind: pm.kind, portrait_digest: hex(pm.portrait) };
    return r;
  }

  root.EP1 = { verify: verify, parseQR: parseQR, importTrustList: importTrustList, parseStatusList: parseStatusList,
    StatusStore: StatusStore, ReplayCache: ReplayCache, needsRefresh: needsRefresh, usable: usable, keyFor: keyFor,
    b64url: b64url, unb64url: unb64url, FormatError: FormatError };
})(typeof self !== "undefined" ? self : this);
