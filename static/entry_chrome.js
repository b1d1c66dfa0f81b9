// An entry as the server's entries/_entry.html renders it, built from the page's
// <template id="entry-template"> (entries/_header.html with every optional part) and a lean
// live frame (format=page: the entry's content and the fields its chrome needs). The story
// page (live.js) and the script embed (embed.js) both build entries with it.
(function () {
  "use strict";

  function drop(el, selector, gone) {
    var part = el.querySelector(selector);
    if (part && gone) part.remove();
    return part;
  }

  // path: the entry's own page, as the server writes it in the permalink and share button.
  window.liveblogBuildEntry = function (template, msg, path) {
    var el = template.content.firstElementChild.cloneNode(true);
    if (msg.pinned) el.classList.add("pinned");
    if (msg.key_event) el.classList.add("key-event");
    if (msg.retracted) el.classList.add("retracted");
    el.id = "entry-" + msg.id;
    el.dataset.id = msg.id;
    el.dataset.shownAt = msg.shown_at;
    var link = el.querySelector(".permalink");
    link.setAttribute("href", path);
    link.querySelector("time").setAttribute("datetime", msg.shown_at);
    el.querySelector(".author").textContent = msg.author;
    drop(el, ".badge.pin", !msg.pinned);
    drop(el, ".badge.key", !msg.key_event);
    var updated = drop(el, ".updated", !msg.updated_at);
    if (msg.updated_at) updated.querySelector("time").setAttribute("datetime", msg.updated_at);
    var share = drop(el, ".share", msg.retracted);
    if (!msg.retracted) share.dataset.share = path;
    el.insertAdjacentHTML("beforeend", msg.html);
    return el;
  };
})();
