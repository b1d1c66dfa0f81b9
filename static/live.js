// Keeps a story page live: applies each event by seq, resumes from the last seq after any
// disconnect (with backoff and jitter), and reloads when the server says it is too far behind.
(function () {
  "use strict";
  var article = document.querySelector("article.story[data-slug]");
  if (!article) return;
  var list = document.getElementById("entries");
  var indicator = document.getElementById("live-status");
  var slug = article.dataset.slug;
  var lastSeq = parseInt(article.dataset.seq, 10) || 0;
  var attempt = 0;
  var CLOSE = { RELOAD: 4001, ENDED: 4002, NOT_FOUND: 4004 };

  function setStatus(text, state) {
    if (!indicator) return;
    indicator.textContent = text;
    indicator.dataset.state = state;
  }

  function sortKey(el) {
    return [el.classList.contains("pinned") ? 1 : 0, el.dataset.shownAt || "", parseInt(el.dataset.id, 10)];
  }

  function comesBefore(a, b) {
    var ka = sortKey(a), kb = sortKey(b);
    for (var i = 0; i < ka.length; i++) {
      if (ka[i] !== kb[i]) return ka[i] > kb[i];
    }
    return false;
  }

  function place(el) {
    var next = null;
    for (var child = list.firstElementChild; child; child = child.nextElementSibling) {
      if (child !== el && comesBefore(el, child)) { next = child; break; }
    }
    list.insertBefore(el, next);
  }

  function applyEntry(msg) {
    var old = document.getElementById("entry-" + msg.id);
    if (msg.type === "entry.hidden") {
      if (old) old.remove();
      return;
    }
    var holder = document.createElement("template");
    holder.innerHTML = msg.html.trim();
    var el = holder.content.firstElementChild;
    if (old) old.replaceWith(el);
    place(el);
  }

  function applyStory(state) {
    var title = article.querySelector("h1");
    if (title) title.textContent = state.title;
    var status = article.querySelector(".status");
    if (status) {
      status.textContent = state.status;
      status.className = "status status-" + state.status;
    }
    article.dataset.status = state.status;
  }

  function apply(msg) {
    if (msg.type === "reload") { window.location.reload(); return; }
    if (typeof msg.seq !== "number" || msg.seq <= lastSeq) return;
    if (msg.type.indexOf("story.") === 0) applyStory(msg.state); else applyEntry(msg);
    lastSeq = msg.seq;
    article.dataset.seq = String(lastSeq);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + window.location.host + "/stories/" + encodeURIComponent(slug) +
      "/live?format=html&after=" + lastSeq;
    var socket = new WebSocket(url);
    socket.onopen = function () { attempt = 0; setStatus("Live", "live"); };
    socket.onmessage = function (event) { apply(JSON.parse(event.data)); };
    socket.onclose = function (event) {
      if (event.code === CLOSE.RELOAD) { window.location.reload(); return; }
      if (event.code === CLOSE.ENDED) { setStatus("This story has ended", "ended"); return; }
      if (event.code === CLOSE.NOT_FOUND) { setStatus("Not available", "gone"); return; }
      setStatus("Reconnecting…", "reconnecting");
      // Exponential backoff with jitter, so a restart does not bring every reader back at once.
      var base = Math.min(30000, 500 * Math.pow(2, attempt++));
      window.setTimeout(connect, base / 2 + Math.random() * base);
    };
  }

  if (article.dataset.status === "ended" && article.dataset.seq) {
    setStatus("This story has ended", "ended");
  }
  connect();
})();
