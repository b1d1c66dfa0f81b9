// The story desk: nothing typed is lost (the composer is kept in localStorage until the
// server confirms it), Ctrl/Cmd+Enter publishes, a retried publish carries the same
// Idempotency-Key (so it posts once), and the stream follows the story's live events.
(function () {
  "use strict";
  var desk = document.querySelector(".story-desk[data-slug]");
  var form = document.getElementById("composer");
  if (!desk || !form) return;
  var slug = desk.dataset.slug;
  var lastSeq = parseInt(desk.dataset.seq, 10) || 0;
  var stream = document.getElementById("desk-stream");
  var status = document.getElementById("composer-saved");
  var storeKey = form.dataset.draftKey;
  var FIELDS = ["body", "title", "headline", "attribution", "shown_at"];
  var CHECKS = ["key_event", "pinned", "quote"];

  // --- the draft store -------------------------------------------------------------------
  function load() {
    try { return JSON.parse(window.localStorage.getItem(storeKey)) || null; } catch (e) { return null; }
  }

  function snapshot() {
    var saved = load() || {};
    var state = { pending: saved.pending || null };
    FIELDS.forEach(function (name) { state[name] = form.elements[name].value; });
    CHECKS.forEach(function (name) { state[name] = form.elements[name].checked; });
    return state;
  }

  function save() {
    var state = snapshot();
    var empty = !state.body && !state.title && !state.headline && !state.pending;
    try {
      if (empty) window.localStorage.removeItem(storeKey);
      else window.localStorage.setItem(storeKey, JSON.stringify(state));
    } catch (e) { /* storage full or blocked: the text stays in the box */ }
  }

  function restore() {
    var state = load();
    if (!state) return;
    FIELDS.forEach(function (name) { if (state[name]) form.elements[name].value = state[name]; });
    CHECKS.forEach(function (name) { form.elements[name].checked = !!state[name]; });
    if (state.body) {
      say(state.pending ? "Not confirmed yet: your last entry is kept here; publish again to send it once."
        : "Your unsent text was kept.");
      htmx.trigger(form.elements.body, "preview-now");
    }
  }

  function clear() {
    form.reset();
    try { window.localStorage.removeItem(storeKey); } catch (e) { /* nothing kept */ }
    htmx.trigger(form.elements.body, "preview-now");
  }

  function say(text) { if (status) status.textContent = text; }

  // --- one key per attempt: the same words retried keep their key ---------------------------
  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function keyFor(action) {
    var state = snapshot();
    var fingerprint = JSON.stringify([action, state.body, state.title, state.headline, state.attribution,
      state.shown_at, state.key_event, state.pinned, state.quote]);
    if (!state.pending || state.pending.fingerprint !== fingerprint) {
      state.pending = { key: newKey(), fingerprint: fingerprint };
      try { window.localStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* as above */ }
    }
    return state.pending.key;
  }

  form.addEventListener("input", save);
  form.addEventListener("change", save);
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit(form.querySelector("button[value=publish]"));
    }
  });

  var lastAction = "publish";

  form.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt !== form) return;
    var action = lastAction = event.detail.parameters.action || "publish";
    event.detail.headers["Idempotency-Key"] = keyFor(action);
    event.detail.timeout = 15000;
    say(action === "draft" ? "Saving…" : "Publishing…");
  });

  form.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt !== form) return;
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 201) {
      var draft = lastAction === "draft";
      clear();
      upsert(xhr.responseText);
      say((draft ? "Draft saved " : "Published ") + new Date().toLocaleTimeString());
      form.elements.body.focus();
    } else if (!xhr || xhr.status === 0) {
      say("No answer from the server, so it may not have arrived. Your text is kept: publish again and it is posted once.");
    } else {
      say("Not sent; your text is kept.");
    }
  });

  // --- the stream --------------------------------------------------------------------------
  function comesBefore(a, b) {
    if (a.dataset.shownAt !== b.dataset.shownAt) return a.dataset.shownAt > b.dataset.shownAt;
    return parseInt(a.dataset.id, 10) > parseInt(b.dataset.id, 10);
  }

  function upsert(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var el = holder.content.firstElementChild;
    if (!el) return;
    var old = document.getElementById(el.id);
    if (old && old.classList.contains("editing")) {
      // Never swap a colleague's change under someone's fingers; saving shows both versions.
      old.classList.add("stale");
      return;
    }
    if (old) old.remove();
    var next = null;
    for (var child = stream.firstElementChild; child; child = child.nextElementSibling) {
      if (comesBefore(el, child)) { next = child; break; }
    }
    stream.insertBefore(el, next);
    var empty = document.getElementById("stream-empty");
    if (empty) empty.remove();
    htmx.process(el);
    htmx.trigger(document.body, "htmx:afterSettle");
  }

  function refreshEntry(id) {
    fetch("/desk/stories/" + encodeURIComponent(slug) + "/entries/" + id, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html) upsert(html); });
  }

  // --- the live connection -----------------------------------------------------------------
  var indicator = document.getElementById("desk-connection");
  var attempt = 0;

  function setConnection(text, state) {
    indicator.textContent = text;
    indicator.dataset.state = state;
  }

  function apply(message) {
    if (message.seq <= lastSeq) return;
    lastSeq = message.seq;
    if (message.type.indexOf("story.") === 0) htmx.trigger(document.body, "story-changed");
    else if (message.entry) refreshEntry(message.entry.id);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/desk/stories/" +
      encodeURIComponent(slug) + "/live?after=" + lastSeq);
    socket.onopen = function () { attempt = 0; setConnection("Live", "live"); };
    socket.onmessage = function (event) { apply(JSON.parse(event.data)); };
    socket.onclose = function (event) {
      if (event.code === 4001) { window.location.reload(); return; }
      if (event.code === 4004) { setConnection("This story no longer exists", "gone"); return; }
      setConnection("Reconnecting…", "reconnecting");
      var base = Math.min(15000, 500 * Math.pow(2, attempt++));
      window.setTimeout(connect, base / 2 + Math.random() * base);
    };
  }

  restore();
  connect();
})();
