// Keeps a story page live. Events are applied by seq, each once; after any disconnect the page
// resumes from its last seq (backoff with jitter) and reloads when told it is too far behind.
// Transport: WebSocket, else server-sent events, else polling the events API. A reader who has
// scrolled down is never moved: new entries wait behind a "N new updates" button.
(function () {
  "use strict";
  var article = document.querySelector("article.story[data-slug]");
  if (!article || article.dataset.live === "off") return;
  var slug = article.dataset.slug;
  var base = "/stories/" + encodeURIComponent(slug);
  var list = document.getElementById("entries");
  var indicator = document.getElementById("live-status");
  var button = document.getElementById("new-updates");
  var announcer = document.getElementById("announcer");
  var keyEvents = document.getElementById("key-events");
  // With the entry template the page takes lean frames (format=page): each entry's content and
  // fields, its chrome cloned from here. Without it, whole fragments (format=html).
  var template = list.parentElement.querySelector(":scope > template#entry-template");
  var format = template ? "page" : "html";
  var lastSeq = parseInt(article.dataset.seq, 10) || 0;
  var held = [];
  var CLOSE = { RELOAD: 4001, ENDED: 4002, NOT_FOUND: 4004, TRY_LATER: 1013 };
  var times = window.LiveblogTimes || { refresh: function () {} };

  // --- connection state -------------------------------------------------------------------
  function setStatus(text, state) {
    if (!indicator) return;
    indicator.textContent = text;
    indicator.dataset.state = state;
  }

  function ended() { setStatus("This story has ended", "ended"); }

  // --- placing entries --------------------------------------------------------------------
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
    // Older than everything shown: it belongs to a page not loaded yet.
    if (!next && list.lastElementChild && document.querySelector("#load-older a")) { el.remove(); return; }
    list.insertBefore(el, next);
  }

  function fragment(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    return holder.content.firstElementChild;
  }

  function entryElement(msg) {
    if (msg.fragment) return fragment(msg.fragment); // polled: the entry's own fragment
    if (format === "page") return window.liveblogBuildEntry(template, msg, base + "/entries/" + msg.id);
    return fragment(msg.html);
  }

  function updateKeyEvent(el, id) {
    if (!keyEvents) return;
    var old = keyEvents.querySelector('li[data-id="' + id + '"]');
    if (old) old.remove();
    if (!el || !el.classList.contains("key-event") || el.classList.contains("retracted")) {
      keyEvents.closest("nav").hidden = !keyEvents.firstElementChild;
      return;
    }
    var headline = el.querySelector(".headline, h2");
    var item = document.createElement("li");
    item.dataset.id = id;
    item.dataset.shownAt = el.dataset.shownAt;
    var link = document.createElement("a");
    link.href = "#entry-" + id;
    var time = el.querySelector("time").cloneNode();
    time.dataset.format = "clock";
    var label = document.createElement("span");
    label.textContent = headline ? headline.textContent : "Key event";
    link.append(time, " ", label);
    item.append(link);
    var next = null;
    for (var child = keyEvents.firstElementChild; child; child = child.nextElementSibling) {
      if ((child.dataset.shownAt || "") < item.dataset.shownAt) { next = child; break; }
    }
    keyEvents.insertBefore(item, next);
    keyEvents.closest("nav").hidden = false;
  }

  function announce(el) {
    if (!announcer) return;
    var words = (el.querySelector(".headline, h2, .body") || el).textContent.trim();
    announcer.textContent = "New update: " + words.slice(0, 140);
  }

  function enhance(el) {
    times.refresh(el);
    var share = el.querySelector("button.share");
    if (share) share.hidden = false;
  }

  function applyEntry(msg) {
    var old = document.getElementById("entry-" + msg.id);
    if (msg.type === "entry.hidden") {
      if (old) old.remove();
      updateKeyEvent(null, msg.id);
      return;
    }
    var el = entryElement(msg);
    enhance(el);
    if (old) {
      old.replaceWith(el);
    } else {
      el.classList.add("arrived");
      announce(el);
      var empty = document.getElementById("no-entries");
      if (empty) empty.remove();
    }
    place(el);
    updateKeyEvent(el, msg.id);
  }

  function applyStory(state) {
    var title = article.querySelector("h1");
    if (title) title.textContent = state.title;
    document.title = state.title + " · Liveblog";
    var status = article.querySelector(".kicker .status");
    if (status) {
      status.textContent = { live: "Live", ended: "Ended", draft: "Draft" }[state.status] || state.status;
      status.className = "status status-" + state.status;
    }
    article.dataset.status = state.status;
    if (state.status === "ended") ended();
  }

  // --- holding what would move the page under a reader who scrolled down ----------------------
  function scrolledDown() {
    return window.scrollY > list.getBoundingClientRect().top + window.scrollY - 80;
  }

  function movesEntries(msg) {
    var known = document.getElementById("entry-" + msg.id);
    return msg.type === "entry.published" || msg.type === "entry.pinned" ||
      msg.type === "entry.unpinned" || (msg.type !== "entry.hidden" && !known);
  }

  function showHeld() {
    var count = held.filter(function (m) { return m.type === "entry.published"; }).length || held.length;
    button.textContent = count === 1 ? "1 new update" : count + " new updates";
    button.hidden = false;
  }

  function releaseHeld() {
    var pending = held;
    held = [];
    button.hidden = true;
    pending.forEach(applyEntry);
  }

  if (button) {
    button.addEventListener("click", function () {
      releaseHeld();
      article.scrollIntoView({ block: "start" });
      var first = list.firstElementChild;
      if (first) { first.setAttribute("tabindex", "-1"); first.focus({ preventScroll: true }); }
    });
    window.addEventListener("scroll", function () { if (held.length && !scrolledDown()) releaseHeld(); }, { passive: true });
  }

  function apply(msg) {
    if (msg.type === "reload") { window.location.reload(); return; }
    if (typeof msg.seq !== "number" || msg.seq <= lastSeq) return;
    lastSeq = msg.seq;
    article.dataset.seq = String(lastSeq);
    if (msg.type.indexOf("story.") === 0) { applyStory(msg.state); return; }
    if (button && (held.length || (movesEntries(msg) && scrolledDown()))) {
      held.push(msg);
      showHeld();
      return;
    }
    applyEntry(msg);
  }

  // --- transports ----------------------------------------------------------------------------
  var attempt = 0;
  // A full server opens the socket and closes it at once (1013), which resets `attempt`: its
  // own count starts at seconds and grows each time, so refused readers never hammer it.
  var busyAttempt = 3;
  var everOpened = false;
  var failures = 0;
  var current = null; // what to close to resume at once (after sleep, or back online)

  function retry(connect, busy) {
    setStatus("Reconnecting…", "reconnecting");
    // Exponential backoff with jitter, so a restart does not bring every reader back at once.
    var delay = Math.min(30000, 500 * Math.pow(2, busy ? busyAttempt++ : attempt++));
    window.setTimeout(connect, delay / 2 + Math.random() * delay);
  }

  function opened() { attempt = 0; everOpened = true; failures = 0; setStatus("Updating live", "live"); }

  // A transport that never once connects on this page is blocked on the way (a proxy, a
  // firewall); the next one is tried after two failures.
  function failed(next, again) {
    failures++;
    if (!everOpened && failures >= 2) { failures = 0; attempt = 0; next(); return; }
    retry(again);
  }

  function webSocket() {
    if (!window.WebSocket) { eventStream(); return; }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try {
      socket = new WebSocket(scheme + window.location.host + base + "/live?format=" + format + "&after=" + lastSeq);
    } catch (e) { eventStream(); return; }
    current = { transport: webSocket, close: function () { socket.close(); } };
    socket.onopen = opened;
    socket.onmessage = function (event) { apply(JSON.parse(event.data)); };
    socket.onclose = function (event) {
      if (event.code === CLOSE.RELOAD) { window.location.reload(); return; }
      if (event.code === CLOSE.ENDED) { ended(); return; }
      if (event.code === CLOSE.NOT_FOUND) { setStatus("Not available", "gone"); return; }
      if (event.code === CLOSE.TRY_LATER) { retry(webSocket, true); return; }
      failed(eventStream, webSocket);
    };
  }

  function eventStream() {
    if (!window.EventSource) { poll(); return; }
    var source = new EventSource(base + "/stream?format=" + format + "&after=" + lastSeq);
    var open = false;
    current = {
      transport: eventStream,
      close: function () { source.close(); failed(poll, eventStream); }
    };
    source.onopen = function () { open = true; opened(); };
    source.onmessage = function (event) { apply(JSON.parse(event.data)); };
    source.addEventListener("reload", function () { window.location.reload(); });
    source.addEventListener("ended", function () { source.close(); ended(); });
    source.onerror = function () {
      // Let EventSource reconnect by itself (it sends Last-Event-ID) unless it gave up.
      if (open && source.readyState !== EventSource.CLOSED) { setStatus("Reconnecting…", "reconnecting"); return; }
      source.close();
      failed(poll, eventStream);
    };
  }

  function poll() {
    fetch("/api/stories/" + encodeURIComponent(slug) + "/events?after=" + lastSeq, { cache: "no-cache" })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (page) {
        // Ahead of the log (it was reset), or further behind than a page should replay.
        if (page.reload || lastSeq > page.last_seq || page.last_seq - lastSeq > 500) {
          window.location.reload();
          return null;
        }
        opened();
        return page.items.reduce(function (done, event) {
          return done.then(function () { return pollEvent(event); });
        }, Promise.resolve()).then(function () { return page; });
      })
      .then(function (page) {
        if (!page) return;
        if (article.dataset.status === "ended") { ended(); return; }
        var more = page.items.length && page.items[page.items.length - 1].seq < page.last_seq;
        window.setTimeout(poll, more ? 0 : 4000 + Math.random() * 2000);
      })
      .catch(function () { retry(poll); });
  }

  // The events API speaks JSON; the entry's fragment comes from the page's own partial.
  function pollEvent(event) {
    if (event.type.indexOf("story.") === 0 || event.type === "entry.hidden") {
      apply({ seq: event.seq, type: event.type, state: event.state, id: event.entry && event.entry.id });
      return Promise.resolve();
    }
    return fetch(base + "/entries/" + event.entry.id + "/fragment")
      .then(function (response) { return response.text(); })
      .then(function (html) { apply({ seq: event.seq, type: event.type, id: event.entry.id, fragment: html }); });
  }

  // --- sharing -----------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var share = event.target.closest("button.share");
    if (!share) return;
    var url = new URL(share.dataset.share, window.location.href).href;
    if (navigator.share) {
      navigator.share({ title: document.title, url: url }).catch(function () {});
    } else if (navigator.clipboard) {
      navigator.clipboard.writeText(url).then(function () {
        share.textContent = "Link copied";
        window.setTimeout(function () { share.textContent = "Share"; }, 2000);
      });
    }
  });

  // A laptop lid closed for an hour leaves a socket that looks open: resume from the last seq
  // as soon as the page is back, rather than waiting for the connection to time out.
  var hiddenAt = 0;
  function resume() {
    if (current && indicator.dataset.state === "live") current.close();
  }
  window.addEventListener("online", resume);
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { hiddenAt = Date.now(); return; }
    if (hiddenAt && Date.now() - hiddenAt > 60000) resume();
  });

  list.querySelectorAll("li.entry").forEach(enhance);
  if (article.dataset.status === "ended") { ended(); return; }
  setStatus("Connecting…", "connecting");
  webSocket();
})();
