// Images in the desk's composer: drop, pick or paste an image, and it is uploaded to
// /api/media (checked and cleaned by the server) and written into the entry as Markdown,
// with a field that asks for its alt text.
//
// Markup it expects (the composer's):
//
//   <textarea id="entry-body" name="body">…</textarea>
//   <div class="upload" data-upload-for="entry-body"></div>
//
// `data-upload-for` names the textarea's id. The element may be empty: the script adds what
// is missing inside it, and uses these when they are already there:
//
//   <button type="button" data-upload-pick>Add an image</button>   opens the file picker
//   <input type="file" hidden>                                      the picker itself
//   <p class="upload-status" role="status"></p>                     "Uploading photo.jpg…"
//   <div class="upload-alts"></div>                                 one alt-text field per image:
//                                     a .upload-alt holding a label.stack with a small
//                                     img.upload-thumb, the words and the input
//
// An upload's error appears in a `.form-error` (role=alert) made inside the element while
// there is one to show. The element gets the class `is-dragover` while a file is dragged over
// it (or over the textarea, which takes drops too); the page itself never navigates to a
// dropped file. The CSRF token comes from <meta name="csrf-token" content="…">, else from
// the `X-CSRF-Token` of <body hx-headers='{…}'>.
//
// Each image in the text, `![alt](url)`, has a field labelled "Describe this image (alt
// text)": typing there writes the text between the square brackets. The fields follow the
// text (a restored draft, an image deleted by hand, the form reset after publishing), so the
// text stays the only state. Every change to the text dispatches `input` on the textarea, so
// the live preview and the draft store see it.
(function () {
  "use strict";

  var ACCEPT = "image/jpeg,image/png,image/gif,image/webp";
  var ALT_LABEL = "Describe this image (alt text)";
  var THUMB = { width: 96, height: 64 };
  // ![alt](url …: the alt may hold escaped brackets; the url ends at a space or ")".
  var IMAGE = /!\[((?:\\.|[^\\\]])*)\]\(\s*<?([^)\s>]+)>?/g;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) return meta.content;
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (e) {
      return "";
    }
  }

  function make(tag, attributes, text) {
    var el = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { el.setAttribute(name, attributes[name]); });
    if (text) el.textContent = text;
    return el;
  }

  function capitalized(text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  // --- the Markdown in the textarea ----------------------------------------------------------

  function imagesIn(text) {
    var found = [], match;
    IMAGE.lastIndex = 0;
    while ((match = IMAGE.exec(text))) found.push({ alt: unescapeAlt(match[1]), url: match[2] });
    return found;
  }

  function escapeAlt(alt) {
    return alt.replace(/[\r\n]+/g, " ").replace(/[\\\[\]]/g, "\\$&");
  }

  function unescapeAlt(alt) {
    return alt.replace(/\\(.)/g, "$1");
  }

  function changed(textarea) {
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function insertImage(textarea, url) {
    var value = textarea.value;
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    // On a line of its own, so it renders as a picture between paragraphs.
    var before = start > 0 && value.charAt(start - 1) !== "\n" ? "\n" : "";
    var after = end < value.length && value.charAt(end) !== "\n" ? "\n" : "";
    textarea.setRangeText(before + "![](" + url + ")" + after, start, end, "end");
    changed(textarea);
  }

  function setAlt(textarea, url, alt) {
    IMAGE.lastIndex = 0;
    textarea.value = textarea.value.replace(IMAGE, function (whole, oldAlt, imageUrl) {
      // whole is "![" + oldAlt + "](" + …: only the part between the brackets changes.
      return imageUrl === url ? "![" + escapeAlt(alt) + whole.slice(2 + oldAlt.length) : whole;
    });
    changed(textarea);
  }

  // --- the alt-text fields, one per image in the text -----------------------------------------

  function altField(upload, url) {
    var fields = upload.alts.querySelectorAll(".upload-alt");
    for (var i = 0; i < fields.length; i++) if (fields[i].dataset.url === url) return fields[i];
    return null;
  }

  function thumbnail(url) {
    // Small, whatever the picture's shape: fitted into THUMB once its size is known.
    var img = make("img", { src: url, alt: "", "class": "upload-thumb", width: String(THUMB.width) });
    img.addEventListener("load", function () {
      var scale = Math.min(1, THUMB.width / img.naturalWidth, THUMB.height / img.naturalHeight);
      img.width = Math.max(1, Math.round(img.naturalWidth * scale));
      img.height = Math.max(1, Math.round(img.naturalHeight * scale));
    });
    return img;
  }

  function newAltField(upload, url) {
    var field = make("div", { "class": "upload-alt" });
    field.dataset.url = url;
    var label = make("label", { "class": "stack" });
    if (url.indexOf("/media/") === 0) label.appendChild(thumbnail(url));
    label.appendChild(document.createTextNode(ALT_LABEL));
    var input = make("input", { type: "text", maxlength: "300", autocomplete: "off" });
    input.addEventListener("input", function () {
      input.setAttribute("aria-invalid", input.value.trim() ? "false" : "true");
      setAlt(upload.textarea, url, input.value);
    });
    label.appendChild(input);
    field.appendChild(label);
    upload.alts.appendChild(field);
    return field;
  }

  function syncAltFields(upload) {
    var images = imagesIn(upload.textarea.value), seen = {};
    images.forEach(function (image) {
      if (seen[image.url]) return;
      seen[image.url] = true;
      var field = altField(upload, image.url) || newAltField(upload, image.url);
      var input = field.querySelector("input");
      if (document.activeElement !== input) input.value = image.alt;
      input.setAttribute("aria-invalid", image.alt.trim() ? "false" : "true");
    });
    Array.prototype.slice.call(upload.alts.querySelectorAll(".upload-alt")).forEach(function (field) {
      if (!seen[field.dataset.url]) field.remove();
    });
  }

  // --- uploading --------------------------------------------------------------------------------

  function say(upload, text) {
    upload.status.textContent = text;
  }

  function showError(upload, message) {
    // Made only while there is an error: the composer's own error slot stays the form's first.
    if (!upload.error) {
      upload.error = make("p", { "class": "form-error", role: "alert" });
      upload.zone.appendChild(upload.error);
    }
    upload.error.textContent = message;
  }

  function clearError(upload) {
    if (upload.error) upload.error.remove();
    upload.error = null;
  }

  function errorMessage(response) {
    if (response.status === 401) return "Your session has ended: sign in again (your text is kept here).";
    return response.json().then(
      function (body) { return capitalized(body.error.message); },
      function () { return "The upload failed (" + response.status + "); try again."; }
    );
  }

  function send(file) {
    var body = new FormData();
    body.append("file", file, file.name || "image");
    return fetch("/api/media", {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(), "Accept": "application/json" }
    });
  }

  function uploadOne(upload, file) {
    var name = file.name || "the image";
    say(upload, "Uploading " + name + "…");
    return send(file).then(function (response) {
      if (!response.ok) {
        return Promise.resolve(errorMessage(response)).then(function (message) {
          throw new Error(name + ": " + message);
        });
      }
      return response.json();
    }, function () {
      throw new Error(name + ": no answer from the server; check the connection and try again.");
    }).then(function (image) {
      insertImage(upload.textarea, image.url);
      syncAltFields(upload);
      say(upload, "Added " + name + ". Describe it for readers who cannot see it.");
      var field = altField(upload, image.url);
      if (field) field.querySelector("input").focus();
    });
  }

  function uploadAll(upload, files) {
    var images = Array.prototype.slice.call(files || []);
    if (!images.length) return;
    clearError(upload);
    upload.zone.setAttribute("aria-busy", "true");
    upload.pick.disabled = true;
    // One after another: each lands at the cursor the previous one left.
    images.reduce(function (done, file) {
      return done.then(function () { return uploadOne(upload, file); });
    }, Promise.resolve()).catch(function (error) {
      say(upload, "");
      showError(upload, error.message);
    }).then(function () {
      upload.zone.removeAttribute("aria-busy");
      upload.pick.disabled = false;
    });
  }

  // --- dragging, dropping, picking, pasting ---------------------------------------------------

  function carriesFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  function acceptDrops(upload, target) {
    target.addEventListener("dragover", function (event) {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      upload.zone.classList.add("is-dragover");
    });
    target.addEventListener("dragleave", function () { upload.zone.classList.remove("is-dragover"); });
    target.addEventListener("drop", function (event) {
      upload.zone.classList.remove("is-dragover");
      if (!carriesFiles(event)) return;
      event.preventDefault();
      uploadAll(upload, event.dataTransfer.files);
    });
  }

  function acceptPastes(upload) {
    upload.textarea.addEventListener("paste", function (event) {
      var data = event.clipboardData;
      // Only a pasted picture alone (a screenshot): text with pictures is pasted as text.
      if (!data || !data.files.length || data.getData("text/plain")) return;
      event.preventDefault();
      uploadAll(upload, data.files);
    });
  }

  function controls(zone) {
    var input = zone.querySelector("input[type=file]");
    if (!input) {
      input = make("input", { type: "file", accept: ACCEPT, multiple: "", hidden: "", tabindex: "-1" });
      zone.appendChild(input);
    }
    var pick = zone.querySelector("[data-upload-pick]");
    if (!pick) {
      pick = make("button", { type: "button", "class": "upload-pick", "data-upload-pick": "" }, "Add an image");
      zone.appendChild(pick);
      zone.appendChild(make("span", { "class": "hint upload-hint" }, " or drop or paste one into the entry"));
    }
    var status = zone.querySelector(".upload-status");
    if (!status) {
      status = make("p", { "class": "hint upload-status", role: "status", "aria-live": "polite" });
      zone.appendChild(status);
    }
    var alts = zone.querySelector(".upload-alts");
    if (!alts) {
      alts = make("div", { "class": "upload-alts" });
      zone.appendChild(alts);
    }
    return { input: input, pick: pick, status: status, alts: alts };
  }

  function setUp(zone) {
    var textarea = document.getElementById(zone.getAttribute("data-upload-for"));
    if (!textarea || zone.dataset.uploadReady) return;
    zone.dataset.uploadReady = "true";
    var parts = controls(zone);
    var upload = {
      zone: zone, textarea: textarea, input: parts.input, pick: parts.pick,
      status: parts.status, alts: parts.alts, error: null
    };
    upload.pick.addEventListener("click", function () { upload.input.click(); });
    upload.input.addEventListener("change", function () {
      uploadAll(upload, upload.input.files);
      upload.input.value = "";  // picking the same file again is a new pick
    });
    acceptDrops(upload, zone);
    acceptDrops(upload, textarea);
    acceptPastes(upload);
    var sync = function () { syncAltFields(upload); };
    textarea.addEventListener("input", sync);
    textarea.addEventListener("preview-now", sync);  // the composer restored a draft
    if (textarea.form) textarea.form.addEventListener("reset", function () { setTimeout(sync, 0); });
    sync();
  }

  function init() {
    var zones = document.querySelectorAll("[data-upload-for]");
    Array.prototype.forEach.call(zones, setUp);
    if (!zones.length) return;
    // A file dropped a little beside the zone must not make the browser leave the desk for it.
    ["dragover", "drop"].forEach(function (type) {
      document.addEventListener(type, function (event) { if (carriesFiles(event)) event.preventDefault(); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
