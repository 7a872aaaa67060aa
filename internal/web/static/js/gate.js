// The gate page: staff paste, upload or scan the holder's QR and the
// authority verifies it online (POST /api/v1/verify) with the verifier's API
// key. The key is kept in sessionStorage: typed once per browser session,
// gone when the tab closes, never in a cookie (so no CSRF exposure).
"use strict";
(function () {
  var t = EP.t;
  var KEY = "epermit.verifier-key";
  var form = document.getElementById("gate-form");

  function apiKey() { return sessionStorage.getItem(KEY) || ""; }
  function showKeyState() {
    var has = apiKey() !== "";
    EP.show("key-field", !has);
    EP.show("key-saved", has);
  }
  document.getElementById("key-forget").addEventListener("click", function () {
    sessionStorage.removeItem(KEY); showKeyState(); document.getElementById("api-key").focus();
  });

  function setText(id, s) { document.getElementById(id).textContent = s; }

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

  var portraitURL = null;
  function clearPortrait() {
    var img = document.getElementById("portrait");
    if (portraitURL) { URL.revokeObjectURL(portraitURL); portraitURL = null; }
    img.removeAttribute("src"); EP.show(img, false);
  }

  async function showPortrait(cti) {
    try {
      var resp = await fetch("/api/v1/credentials/" + encodeURIComponent(cti) + "/portrait",
        { headers: { "Authorization": "Bearer " + apiKey() } });
      if (!resp.ok) { return; }
      portraitURL = URL.createObjectURL(await resp.blob());
      var img = document.getElementById("portrait");
      img.src = portraitURL; EP.show(img, true);
    } catch (e) { /* the portrait is a help, not a condition */ }
  }

  function showResult(r) {
    var decision = r.decision; // accept, accept_with_warning, reject
    var box = document.getElementById("result");
    box.dataset.decision = decision;
    box.dataset.code = r.code || "";
    var verdict = document.getElementById("verdict");
    verdict.className = "verdict " + (decision === "reject" ? "reject" : (decision === "accept" ? "accept" : "warn"));
    setText("verdict-mark", decision === "reject" ? "✕" : (decision === "accept" ? "✓" : "!"));
    setText("verdict-title", t("verdict." + decision));
    var reason;
    if (decision === "reject") { reason = t("code." + r.code); }
    else if (r.warnings && r.warnings.length) { reason = r.warnings.map(function (w) { return t("code." + w); }).join(" "); }
    else { reason = t("verdict.accept.reason", { use: t("use." + r.use) }); }
    setText("verdict-reason", reason);
    clearPortrait();
    var h = r.holder;
    EP.show("result-holder", !!h);
    if (h) {
      setText("r-name", h.name || "—");
      setText("r-latin", h.latin_name || "—");
      setText("r-doc", EP.docLabel(h.document_type, h.document_number));
      setText("r-birth", h.birth_date);
      setText("r-sex", t("sex." + h.sex));
      setText("r-scopes", EP.scopesLabel(h.scopes));
      setText("r-until", r.credential ? EP.fmtDateTime(r.credential.expires) : "");
      if (r.credential) { showPortrait(r.credential.cti); }
    }
    // How fresh the data behind the answer are: the authority checked its
    // live trust list and its own status entries at checked_at.
    var age = r.credential && typeof r.credential.status_age_seconds === "number" ? Math.round(r.credential.status_age_seconds) : null;
    var status = age !== null ? t("gate.fresh.status", { age: age })
      : (r.code === "revoked" || r.code === "suspended") ? t("gate.fresh.checked") : t("gate.fresh.nostatus");
    setText("freshness", t("gate.fresh", { at: EP.fmtDateTime(r.checked_at) }) + " " + status);
    EP.show(box, true);
    box.focus();
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    EP.showError("gate-error", null);
    var typed = document.getElementById("api-key").value.trim();
    if (typed) { sessionStorage.setItem(KEY, typed); document.getElementById("api-key").value = ""; }
    if (!apiKey()) { EP.showError("gate-error", t("gate.key.missing")); showKeyState(); document.getElementById("api-key").focus(); return; }
    // Only line breaks go: a space is a base45 character, even at the end.
    var text = document.getElementById("qr-text").value.replace(/[\r\n\t]/g, "").replace(/^ +/, "");
    if (!text) { EP.showError("gate-error", t("gate.qrtext.missing")); document.getElementById("qr-text").focus(); return; }
    var use = form.querySelector('input[name="use"]:checked').value;
    var button = document.getElementById("gate-submit");
    button.disabled = true;
    try {
      var resp = await fetch("/api/v1/verify", { method: "POST",
        headers: { "Authorization": "Bearer " + apiKey(), "Content-Type": "application/json" },
        body: JSON.stringify({ qr: text, use: use }) });
      var data = await resp.json().catch(function () { return null; });
      if (resp.status === 401) { sessionStorage.removeItem(KEY); showKeyState(); EP.showError("gate-error", t("gate.key.wrong")); return; }
      if (!resp.ok) { EP.showError("gate-error", (data && data.code && t("err." + data.code)) || t("err.internal")); return; }
      showKeyState();
      showResult(data);
    } catch (e) { EP.showError("gate-error", t("err.network")); } finally { button.disabled = false; }
  });

  document.getElementById("next-scan").addEventListener("click", function () {
    EP.show("result", false); clearPortrait();
    document.getElementById("qr-text").value = "";
    document.getElementById("qr-text").focus();
  });

  showKeyState();
})();
