// Shared helpers for the epermit pages: messages in the page language, JSON
// calls with the CSRF token, and a tiny IndexedDB wrapper. Plain ES2017, no
// build step.
"use strict";
(function () {
  var messages = JSON.parse(document.getElementById("messages").textContent || "{}");
  var lang = document.documentElement.lang || "zh-Hant";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // t returns the message for key with {name} placeholders filled in. A
  // missing key shows as itself so that it gets noticed.
  function t(key, vars) {
    var m = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
    if (vars) {
      m = m.replace(/\{(\w+)\}/g, function (all, k) { return k in vars ? String(vars[k]) : all; });
    }
    return m;
  }

  // problemText turns an RFC 9457 problem into words for the user: the
  // translated reason code when there is one, else the server's detail.
  function problemText(p) {
    if (p && p.code && Object.prototype.hasOwnProperty.call(messages, "err." + p.code)) {
      return t("err." + p.code);
    }
    return (p && p.detail) || t("err.internal");
  }

  // api calls a same-origin JSON endpoint. Non-2xx answers reject with an
  // Error carrying the problem's code and the message to show.
  async function api(method, path, body, headers) {
    var h = { "Accept": "application/json" };
    if (method !== "GET") { h["X-CSRF-Token"] = csrf; }
    if (body !== undefined) { h["Content-Type"] = "application/json"; }
    Object.assign(h, headers || {});
    var resp;
    try {
      resp = await fetch(path, { method: method, headers: h, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      var err = new Error(t("err.network")); err.code = "network"; throw err;
    }
    if (resp.status === 204) { return null; }
    var data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) {
      var e2 = new Error(problemText(data)); e2.code = (data && data.code) || "http_" + resp.status;
      e2.status = resp.status; e2.problem = data; throw e2;
    }
    return data;
  }

  // The device's IndexedDB: object stores of credentials, each with its
  // non-extractable private key (a CryptoKey, stored by structured clone:
  // the key material never becomes visible to script). Version 1 had only
  // "wallet" (e-permits); version 2 adds "linkage" (linkage proofs), kept
  // apart so that the e-permit card never picks up a linkage proof.
  var STORES = ["wallet", "linkage"];
  function openDB() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open("epermit", 2);
      req.onupgradeneeded = function () {
        STORES.forEach(function (n) {
          if (!req.result.objectStoreNames.contains(n)) { req.result.createObjectStore(n, { keyPath: "cti" }); }
        });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  async function dbDo(name, mode, fn) {
    var db = await openDB();
    return new Promise(function (resolve, reject) {
      var tx = db.transaction(name, mode);
      var req = fn(tx.objectStore(name));
      tx.oncomplete = function () { db.close(); resolve(req && req.result); };
      tx.onerror = function () { db.close(); reject(tx.error); };
    });
  }
  function objectStore(name) {
    return {
      all: function () { return dbDo(name, "readonly", function (s) { return s.getAll(); }); },
      put: function (entry) { return dbDo(name, "readwrite", function (s) { return s.put(entry); }); },
      remove: function (cti) { return dbDo(name, "readwrite", function (s) { return s.delete(cti); }); }
    };
  }
  var wallet = objectStore("wallet"), linkage = objectStore("linkage");

  // signedIn tells whether this browser holds an applicant session, asked
  // once per page: the session's calls answer 401 without one, which the
  // browser would log as an error, so pages ask this first. Offline it
  // says yes, so that the calls fail as offline, not signed out.
  var signedInP = null;
  function signedIn() {
    signedInP = signedInP || api("GET", "/app/session").then(function (r) { return !!(r && r.signed_in); },
      function (e) { return e.code === "network"; });
    return signedInP;
  }

  function show(el, on) { if (typeof el === "string") { el = document.getElementById(el); } el.hidden = !on; }
  function showError(id, err) {
    var el = document.getElementById(id);
    if (!err) { el.hidden = true; el.textContent = ""; return; }
    el.textContent = typeof err === "string" ? err : err.message;
    el.hidden = false;
  }
  function fmtDateTime(iso) {
    return new Date(iso).toLocaleString(lang, { year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai", timeZoneName: "short" });
  }
  function docLabel(type, number) { return t("doctype." + type) + " " + number; }
  function scopesLabel(scopes) { return (scopes || []).map(function (s) { return t("use." + s); }).join(t("list.sep")); }

  window.EP = { t: t, api: api, signedIn: signedIn, wallet: wallet, linkage: linkage, show: show, showError: showError, lang: lang,
    fmtDateTime: fmtDateTime, docLabel: docLabel, scopesLabel: scopesLabel };
})();
