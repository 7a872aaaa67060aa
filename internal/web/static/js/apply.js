// The applicant's path: details → one-time code → face → rules and apply.
// The session lives in HttpOnly cookies; this script never sees a secret.
"use strict";
(function () {
  var t = EP.t;
  var steps = ["details", "code", "face", "apply", "ineligible"];

  function go(step) {
    steps.forEach(function (s) {
      EP.show("step-" + s, s === step);
      var li = document.querySelector('.steps [data-step="' + s + '"]');
      if (!li) { return; }
      if (s === step) { li.setAttribute("aria-current", "step"); } else { li.removeAttribute("aria-current"); }
    });
    // Move focus to the new step's heading so screen readers and keyboard
    // users land where the page changed.
    var h = document.querySelector("#step-" + step + " h2");
    h.tabIndex = -1; h.focus();
  }

  function busy(button, on) { button.disabled = on; button.setAttribute("aria-busy", on ? "true" : "false"); }

  // Step 1: details.
  document.getElementById("details-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var f = ev.target, button = document.getElementById("details-submit");
    EP.showError("details-error", null);
    Array.prototype.forEach.call(f.elements, function (el) { el.removeAttribute("aria-invalid"); });
    var body = { document_type: f.document_type.value, document_number: f.document_number.value.trim().toUpperCase(),
      name: f.name.value.trim(), birth_date: f.birth_date.value };
    // The first empty field is marked and named.
    var missing = ["document_number", "name", "birth_date"].filter(function (n) { return !body[n]; })[0];
    if (missing) {
      f.elements[missing].setAttribute("aria-invalid", "true");
      f.elements[missing].focus();
      EP.showError("details-error", t("err.field." + missing));
      return;
    }
    busy(button, true);
    try {
      var r = await EP.api("POST", "/app/proofing", body);
      document.getElementById("code-sent").textContent = t("code.sent", { phone: r.phone_hint });
      go("code");
      document.getElementById("code").focus();
    } catch (e) {
      // A field the server names is marked and named in the message.
      var field = e.problem && e.problem.problems && e.problem.problems[0] && e.problem.problems[0].field;
      var input = field && f.elements[field];
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
        EP.showError("details-error", t("err.field." + field));
      } else { EP.showError("details-error", e); }
    } finally { busy(button, false); }
  });

  // refused tells an applicant the rules will not issue to them (their
  // permit, or the month's quota), as soon as the code has proven their
  // phone: they do not go on to the face check for nothing.
  function refused(r) {
    var text = t("err." + r.code);
    if (r.next_application_from) {
      text += " " + t("ineligible.next", { date: new Date(r.next_application_from).toLocaleDateString(EP.lang,
        { year: "numeric", month: "long", day: "numeric", timeZone: "Asia/Shanghai" }) });
    }
    document.getElementById("ineligible-text").textContent = text;
    go("ineligible");
  }

  // Step 2: the code.
  document.getElementById("code-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var button = document.getElementById("code-submit");
    EP.showError("code-error", null);
    var code = document.getElementById("code").value.trim();
    if (!/^[0-9]{6}$/.test(code)) { EP.showError("code-error", t("err.code_format")); return; }
    busy(button, true);
    try {
      var r = await EP.api("POST", "/app/proofing/code", { code: code });
      if (r.refusal) { refused(r.refusal); return; }
      if (r.state === "face_required") { go("face"); }
    } catch (e) {
      EP.showError("code-error", e);
      if (e.code === "too_many_attempts" || e.code === "code_expired" || e.code === "session_expired") { go("details"); EP.showError("details-error", e); }
    } finally { busy(button, false); }
  });

  // A new code for the same session: no new attempt is spent, and the
  // code before it stops working.
  document.getElementById("code-resend").addEventListener("click", async function () {
    var button = this;
    EP.showError("code-error", null);
    document.getElementById("code-status").textContent = "";
    busy(button, true);
    try {
      var r = await EP.api("POST", "/app/proofing/resend");
      document.getElementById("code-sent").textContent = t("code.sent", { phone: r.phone_hint });
      document.getElementById("code-status").textContent = t("code.resent");
      document.getElementById("code").value = "";
      document.getElementById("code").focus();
    } catch (e) {
      EP.showError("code-error", e.code === "rate_limited" ? t("code.resend.wait") : e);
      if (e.code === "too_many_attempts" || e.code === "session_expired") { go("details"); EP.showError("details-error", e); }
    } finally { busy(button, false); }
  });

  // Step 3: the face. Camera first; a picked file is the fallback.
  var stream = null;
  var video = document.getElementById("camera");
  document.getElementById("camera-start").addEventListener("click", async function () {
    EP.showError("face-error", null);
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { EP.showError("face-error", t("face.nocamera")); return; }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: { ideal: 640 } }, audio: false });
      video.srcObject = stream;
      EP.show(video, true);
      await video.play();
      document.getElementById("camera-shoot").disabled = false;
      document.getElementById("camera-shoot").focus();
    } catch (e) { EP.showError("face-error", t("face.nocamera")); }
  });

  function stopCamera() { if (stream) { stream.getTracks().forEach(function (tr) { tr.stop(); }); stream = null; } EP.show(video, false); }

  // jpegOf draws a source (video or image) scaled to at most 1024 pixels on
  // its longer side and returns JPEG bytes, which keeps selfies well under
  // the server's 2 MiB limit whatever the camera or file.
  function jpegOf(src, w, h) {
    var scale = Math.min(1, 1024 / Math.max(w, h));
    var c = document.createElement("canvas");
    c.width = Math.round(w * scale); c.height = Math.round(h * scale);
    c.getContext("2d").drawImage(src, 0, 0, c.width, c.height);
    return new Promise(function (resolve, reject) {
      c.toBlob(function (b) {
        if (!b) { reject(new Error(t("face.badimage"))); return; }
        b.arrayBuffer().then(function (buf) { resolve(new Uint8Array(buf)); }, reject);
      }, "image/jpeg", 0.85);
    });
  }

  async function sendSelfie(jpeg) {
    EP.showError("face-error", null);
    document.getElementById("face-status").textContent = t("face.checking");
    try {
      var r = await EP.api("POST", "/app/proofing/face", { selfie: EPCose.toBase64(jpeg) });
      if (r.state === "verified") { stopCamera(); await startApply(); return; }
      if (r.state === "face_pending") { document.getElementById("face-status").textContent = t("face.pending"); pollReview(); }
    } catch (e) {
      document.getElementById("face-status").textContent = "";
      EP.showError("face-error", e);
    }
  }

  // An officer reviews the face in the "officer" face mode; poll until done.
  function pollReview() {
    setTimeout(async function () {
      try {
        var r = await EP.api("GET", "/app/proofing");
        if (r.state === "verified") { await startApply(); return; }
        if (r.state === "failed") { EP.showError("face-error", t("err.face_rejected")); return; }
      } catch (e) { EP.showError("face-error", e); return; }
      pollReview();
    }, 5000);
  }

  document.getElementById("camera-shoot").addEventListener("click", async function () {
    if (!stream || !video.videoWidth) { EP.showError("face-error", t("face.nocamera")); return; }
    this.disabled = true;
    try { await sendSelfie(await jpegOf(video, video.videoWidth, video.videoHeight)); } finally { this.disabled = !stream; }
  });

  document.getElementById("face-file-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var file = document.getElementById("selfie-file").files[0];
    if (!file) { EP.showError("face-error", t("face.nofile")); return; }
    var url = URL.createObjectURL(file);
    try {
      var img = new Image();
      await new Promise(function (resolve, reject) { img.onload = resolve; img.onerror = function () { reject(new Error(t("face.badimage"))); }; img.src = url; });
      await sendSelfie(await jpegOf(img, img.naturalWidth, img.naturalHeight));
    } catch (e) { EP.showError("face-error", e); } finally { URL.revokeObjectURL(url); }
  });

  // Step 4: the rules, then apply with a fresh device key.
  async function startApply() {
    me = await EP.api("GET", "/app/me");
    // The long-lived electronic permit is offered only when the policy
    // issues it and its rules would grant it.
    var el = me.electronic && !me.electronic.refusal ? me.electronic : null;
    if (me.refusal && !el) { refused(me.refusal); return; }
    document.getElementById("who-name").textContent = [me.name, me.latin_name].filter(Boolean).join(" · ");
    document.getElementById("who-doc").textContent = EP.docLabel(me.document_type, me.document_number);
    document.getElementById("who-expiry").textContent = me.permit_expires_on;
    EP.show("kind-field", !!el);
    if (me.refusal) {
      document.getElementById("kind-temporary").disabled = true;
      document.getElementById("kind-electronic").checked = true;
    }
    showRules();
    go("apply");
  }

  var me = null;
  function chosenKind() { return document.getElementById("kind-electronic").checked ? "electronic" : "temporary"; }

  // showRules lists the rules of the kind chosen, with this applicant's
  // numbers.
  function showRules() {
    var k = chosenKind() === "electronic" ? me.electronic : me;
    var rules = document.getElementById("rules");
    rules.textContent = "";
    var items = [t("rules.apply.validity", { days: k.validity_days }),
      t("rules.apply.cap", { date: me.permit_expires_on }),
      k.left_this_month < 0 ? t("rules.apply.noquota") : t("rules.apply.quota", { left: k.left_this_month, quota: k.monthly_quota }),
      k.scopes.indexOf("border") < 0 ? t("rules.scope") : t("rules.apply.uses", { uses: EP.scopesLabel(k.scopes) }),
      t("rules.supersede")];
    items.forEach(function (s) { var li = document.createElement("li"); li.textContent = s; rules.appendChild(li); });
    EP.show("reason-field", chosenKind() === "temporary");
    EP.showError("apply-error", k.left_this_month === 0 ? t("err.quota_exceeded") : null);
  }
  document.getElementById("kind-temporary").addEventListener("change", showRules);
  document.getElementById("kind-electronic").addEventListener("change", showRules);

  // Kept across retries of one visit: a retry with the same idempotency key
  // gets the e-permit issued the first time, bound to the first key.
  var idempotencyKey = null, pair = null;
  document.getElementById("apply-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var button = document.getElementById("apply-submit");
    EP.showError("apply-error", null);
    if (!document.getElementById("ack").checked) { EP.showError("apply-error", t("err.ack")); document.getElementById("ack").focus(); return; }
    busy(button, true);
    try {
      // A non-extractable P-256 key: the private half can sign but can never
      // be read out of the browser, so the e-permit stays on this device.
      pair = pair || await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
      var jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
      var nonce = (await EP.api("POST", "/app/nonce")).nonce;
      var sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, new TextEncoder().encode(nonce)));
      // One idempotency key per page visit: a retry after a lost answer gets
      // the same e-permit instead of spending another application.
      idempotencyKey = idempotencyKey || EPCose.toBase64url(crypto.getRandomValues(new Uint8Array(16)));
      var body = chosenKind() === "electronic" ? { kind: "electronic" } : { kind: "temporary", reason: document.getElementById("reason").value };
      var c = await EP.api("POST", "/app/epermits", Object.assign(body, {
        holder_key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, signature: EPCose.toBase64url(sig) }),
        { "Idempotency-Key": idempotencyKey });
      // Read back the list for the holder data, and keep it with the key.
      var list = await EP.api("GET", "/app/epermits");
      var entry = list.epermits.filter(function (e) { return e.cti === c.cti; })[0] || c;
      entry.key = pair.privateKey;
      entry.saved_at = new Date().toISOString();
      await EP.wallet.put(entry);
      location.assign("/wallet");
    } catch (e) { EP.showError("apply-error", e); busy(button, false); }
  });

  // "Add to another wallet": an OpenID4VCI offer for any conformant wallet,
  // as a QR (byte mode: the URI is not QR-alphanumeric) and a link; the
  // transaction code goes to the phone on record.
  document.getElementById("offer-make").addEventListener("click", async function () {
    var button = this;
    EP.showError("offer-error", null);
    button.disabled = true;
    try {
      var o = await EP.api("POST", "/app/offers", { kind: document.getElementById("offer-kind").value,
        reason: document.getElementById("reason").value });
      document.getElementById("offer-uri").value = o.credential_offer_uri;
      document.getElementById("offer-phone").textContent = o.phone_hint;
      document.getElementById("offer-link").href = o.credential_offer_uri;
      var qr = qrcode(0, "L");
      qr.addData(o.credential_offer_uri, "Byte");
      qr.make();
      var n = qr.getModuleCount(), quiet = 4, scale = 5, canvas = document.getElementById("offer-qr");
      canvas.width = canvas.height = (n + 2 * quiet) * scale;
      var g = canvas.getContext("2d");
      g.fillStyle = "#fff"; g.fillRect(0, 0, canvas.width, canvas.height);
      g.fillStyle = "#000";
      for (var r = 0; r < n; r++) {
        for (var c = 0; c < n; c++) { if (qr.isDark(r, c)) { g.fillRect((c + quiet) * scale, (r + quiet) * scale, scale, scale); } }
      }
      EP.show("offer-result", true);
    } catch (e) { EP.showError("offer-error", e); } finally { button.disabled = false; }
  });

  // A session from an earlier visit goes straight to the application.
  EP.signedIn().then(function (yes) { return yes && EP.api("GET", "/app/me").then(function () { return startApply(); }); })
    .catch(function () {});
})();
