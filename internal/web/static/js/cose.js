// The gate presentation of spec/formats.md §3, built in the browser: the
// CBOR array [credential, proof] where proof is a COSE_Sign1 with protected
// {1: -7, 15: {6: iat}}, unprotected {}, nil payload, signed over the
// Sig_structure ["Signature1", protected, h'', SHA-256(credential)] with the
// device's non-extractable P-256 key; then "EP1:" + base45.
"use strict";
(function () {
  // head appends a CBOR head of major type maj and argument n (n < 2^32).
  function head(out, maj, n) {
    var m = maj << 5;
    if (n < 24) { out.push(m | n); }
    else if (n < 0x100) { out.push(m | 24, n); }
    else if (n < 0x10000) { out.push(m | 25, n >> 8, n & 0xff); }
    else { out.push(m | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff); }
  }
  function bytes(out, b) { head(out, 2, b.length); for (var i = 0; i < b.length; i++) { out.push(b[i]); } }
  function text(out, s) { var b = new TextEncoder().encode(s); head(out, 3, b.length); for (var i = 0; i < b.length; i++) { out.push(b[i]); } }

  // protectedHeader is {1: -7, 15: {6: iat}} in deterministic encoding.
  function protectedHeader(iat) {
    var out = [];
    head(out, 5, 2);
    head(out, 0, 1); head(out, 1, 6); // 1: -7 (negative int -1-6)
    head(out, 0, 15); head(out, 5, 1); head(out, 0, 6); head(out, 0, iat);
    return out;
  }

  // present signs a fresh proof for credential (Uint8Array, the COSE_Sign1
  // bytes as issued) with privateKey at iat (Unix seconds) and returns the
  // CBOR presentation.
  async function present(credential, privateKey, iat) {
    var prot = protectedHeader(iat);
    var digest = new Uint8Array(await crypto.subtle.digest("SHA-256", credential));
    var sigStructure = [];
    head(sigStructure, 4, 4);
    text(sigStructure, "Signature1");
    bytes(sigStructure, prot);
    bytes(sigStructure, []);
    bytes(sigStructure, digest);
    // WebCrypto's ECDSA output is r||s (IEEE P1363), exactly COSE's form.
    var sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey,
      new Uint8Array(sigStructure)));
    var proof = [];
    head(proof, 6, 18);   // tag 18: COSE_Sign1
    head(proof, 4, 4);
    bytes(proof, prot);
    head(proof, 5, 0);    // unprotected {}
    proof.push(0xf6);     // payload nil (detached)
    bytes(proof, sig);
    var out = [];
    head(out, 4, 2);
    bytes(out, credential);
    bytes(out, proof);
    return new Uint8Array(out);
  }

  var B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  // base45 encodes b per RFC 9285.
  function base45(b) {
    var s = "";
    for (var i = 0; i + 1 < b.length; i += 2) {
      var n = b[i] * 256 + b[i + 1];
      s += B45[n % 45] + B45[Math.floor(n / 45) % 45] + B45[Math.floor(n / 2025)];
    }
    if (b.length % 2) { var m = b[b.length - 1]; s += B45[m % 45] + B45[Math.floor(m / 45)]; }
    return s;
  }

  async function qrText(credential, privateKey, iat) {
    return "EP1:" + base45(await present(credential, privateKey, iat));
  }

  function fromBase64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }
  function toBase64(b) {
    var bin = "";
    for (var i = 0; i < b.length; i += 0x8000) { bin += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000)); }
    return btoa(bin);
  }
  function toBase64url(b) { return toBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""); }

  window.EPCose = { present: present, base45: base45, qrText: qrText, fromBase64url: fromBase64url, toBase64url: toBase64url, toBase64: toBase64 };
})();
