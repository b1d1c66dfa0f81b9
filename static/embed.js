// Liveblog embeds for other sites, in one small dependency-free script.
//   <script src="https://HOST/static/embed.js" data-story="SLUG" async></script>
// shows the story's live stream right after the tag, in an open shadow root (the host's CSS
// stays out); data-theme="light|dark|auto" and data-limit="1..50" are optional. Loaded
// without data-story (the oEmbed snippet), it sizes <iframe data-liveblog-embed> elements to
// the height their page reports.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src).origin;
  var CLOSE = { RELOAD: 4001, ENDED: 4002, NOT_FOUND: 4004, TRY_LATER: 1013 };
  var CLOCK = { hour: "2-digit", minute: "2-digit" };
  var DAY_CLOCK = { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };

  function sizeFrames() {
    var key = "__liveblogFrames " + origin;  // one listener per origin, however many tags
    if (window[key]) return;
    window[key] = true;
    window.addEventListener("message", function (event) {
      var data = event.data;
      if (event.origin !== origin || !data || data.type !== "liveblog:height") return;
      var height = Math.min(Math.max(parseInt(data.height, 10) || 0, 0), 100000);
      document.querySelectorAll("iframe[data-liveblog-embed]").forEach(function (frame) {
        if (frame.contentWindow === event.source) frame.style.height = height + "px";
      });
    });
    // Frames that reported before this script arrived: ask them again.
    document.querySelectorAll("iframe[data-liveblog-embed]").forEach(function (frame) {
      if (frame.contentWindow) frame.contentWindow.postMessage({ type: "liveblog:measure" }, "*");
    });
  }

  function backoff(attempt) {
    // Exponential with jitter, so a server restart does not bring every reader back at once.
    var base = Math.min(30000, 500 * Math.pow(2, attempt));
    return base / 2 + Math.random() * base;
  }

  // entry_chrome.js builds live entries from the story's template (frames then carry only
  // what differs per entry); loaded once per page. Without it, entries come whole.
  function entryBuilder() {
    var key = "__liveblogEntryChrome " + origin;
    if (!window[key]) {
      window[key] = new Promise(function (resolve) {
        if (window.liveblogBuildEntry) { resolve(true); return; }
        var tag = document.createElement("script");
        tag.src = origin + "/static/entry_chrome.js";
        tag.onload = function () { resolve(true); };
        tag.onerror = function () { resolve(false); };
        document.head.appendChild(tag);
      });
    }
    return window[key];
  }

  function Embed(tag, slug) {
    var host = document.createElement("div");
    var theme = tag.getAttribute("data-theme");
    host.className = "liveblog-embed";
    host.setAttribute("data-theme", /^(light|dark|auto)$/.test(theme) ? theme : "light");
    tag.parentNode.insertBefore(host, tag.nextSibling);
    this.root = host.attachShadow({ mode: "open" });
    this.box = document.createElement("div");
    this.box.hidden = true;  // until our stylesheet is in: no flash of unstyled text
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = origin + "/static/embed.css";
    css.onload = css.onerror = function () { this.box.hidden = false; }.bind(this);
    this.root.append(css, this.box);
    this.slug = slug;
    this.limit = Math.min(Math.max(parseInt(tag.getAttribute("data-limit"), 10) || 20, 1), 50);
    this.title = tag.getAttribute("data-title") === "0" ? "0" : "1";
    this.attempt = 0;
    // A full server opens the socket and closes it at once (1013), which resets `attempt`: its
    // own count starts at seconds and grows each time, so refused readers never hammer it.
    this.busyAttempt = 3;
    this.load();
  }

  Embed.prototype.path = function () { return "/stories/" + encodeURIComponent(this.slug); };

  // The stream as the server renders it (sanitized entries, escaped text); never host input.
  Embed.prototype.load = function () {
    var self = this;
    var url = origin + this.path() + "/embed.json?limit=" + this.limit + "&title=" + this.title;
    var story = fetch(url, { credentials: "omit" })
      .then(function (response) {
        if (response.status === 404) throw new Error("gone");
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      });
    Promise.all([story, entryBuilder()])
      .then(function (both) { self.show(both[0], both[1]); })
      .catch(function (error) {
        if (error.message === "gone") { self.box.textContent = "This story is not available."; return; }
        window.setTimeout(function () { self.load(); }, backoff(self.attempt++));
      });
  };

  Embed.prototype.show = function (data, canBuild) {
    this.box.innerHTML = data.html;
    this.article = this.box.querySelector("article.story");
    this.list = this.root.getElementById("entries");
    this.indicator = this.root.getElementById("live-status");
    // With the entry template, frames carry only what differs per entry (format=page).
    this.template = canBuild ? this.article.querySelector(":scope > template#entry-template") : null;
    this.lastSeq = data.story.seq;
    absolutize(this.box);
    localTimes(this.box);
    if (data.story.status === "ended") this.setStatus("This story has ended", "ended");
    else this.connect();
  };

  Embed.prototype.setStatus = function (text, state) {
    if (!this.indicator) return;
    this.indicator.textContent = text;
    this.indicator.dataset.state = state;
  };

  Embed.prototype.connect = function () {
    var self = this;
    var socket = new WebSocket(origin.replace(/^http/, "ws") + this.path() +
      "/live?format=" + (this.template ? "page" : "html") + "&after=" + this.lastSeq);
    socket.onopen = function () { self.attempt = 0; self.setStatus("Live", "live"); };
    socket.onmessage = function (event) { self.apply(JSON.parse(event.data)); };
    socket.onclose = function (event) {
      if (event.code === CLOSE.RELOAD) { self.load(); return; }
      if (event.code === CLOSE.ENDED) { self.setStatus("This story has ended", "ended"); return; }
      if (event.code === CLOSE.NOT_FOUND) { self.setStatus("Not available", "gone"); return; }
      self.setStatus("Reconnecting…", "reconnecting");
      var busy = event.code === CLOSE.TRY_LATER;
      var wait = backoff(busy ? self.busyAttempt++ : self.attempt++);
      window.setTimeout(function () { self.connect(); }, wait);
    };
  };

  // One event, applied once, in seq order (the socket replays what a reconnect missed).
  Embed.prototype.apply = function (msg) {
    if (typeof msg.seq !== "number" || msg.seq <= this.lastSeq) return;
    if (msg.type.indexOf("story.") === 0) this.applyStory(msg.state);
    else this.applyEntry(msg);
    this.lastSeq = msg.seq;
    this.article.dataset.seq = String(msg.seq);
  };

  Embed.prototype.applyStory = function (state) {
    var title = this.article.querySelector("h1");
    if (title) title.textContent = state.title;
    var status = this.article.querySelector(".status");
    status.textContent = state.status;
    status.className = "status status-" + state.status;
    this.article.dataset.status = state.status;
  };

  Embed.prototype.applyEntry = function (msg) {
    var old = this.root.getElementById("entry-" + msg.id);
    if (old) old.remove();
    if (msg.type === "entry.hidden") return;
    var el = this.template
      ? window.liveblogBuildEntry(this.template, msg, this.path() + "/entries/" + msg.id)
      : fragment(msg.html);
    absolutize(el);
    localTimes(el);
    this.list.insertBefore(el, this.nextSibling(el));
    while (this.list.children.length > this.limit) this.list.lastElementChild.remove();
  };

  function fragment(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    return holder.content.firstElementChild;
  }

  // The entry the new one goes before: pinned first, then newest shown first (as the server).
  Embed.prototype.nextSibling = function (el) {
    var key = sortKey(el);
    for (var child = this.list.firstElementChild; child; child = child.nextElementSibling) {
      if (before(key, sortKey(child))) return child;
    }
    return null;
  };

  function sortKey(el) {
    return [el.classList.contains("pinned") ? 1 : 0, el.dataset.shownAt || "", +el.dataset.id];
  }

  function before(a, b) {
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] > b[i];
    return false;
  }

  // Our links and images are relative to our site; on the host page they must not be.
  function absolutize(root) {
    root.querySelectorAll("[href], [src]").forEach(function (el) {
      ["href", "src"].forEach(function (name) {
        var value = el.getAttribute(name);
        if (value !== null) el.setAttribute(name, new URL(value, origin + "/").href);
      });
      if (el.tagName === "A") el.target = "_blank";
    });
  }

  // The server writes UTC; a reader wants their own clock (and the date when not today).
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime")), today = new Date().toDateString();
      if (isNaN(date)) return;
      el.textContent = date.toLocaleString([], date.toDateString() === today ? CLOCK : DAY_CLOCK);
      el.title = date.toLocaleString();
    });
  }

  sizeFrames();
  var slug = script.getAttribute("data-story");
  if (slug) new Embed(script, slug);
})();
