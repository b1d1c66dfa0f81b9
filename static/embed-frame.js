// The iframe embed (/stories/{slug}/embed): live.js keeps the stream live; this keeps it to
// the number of entries the host asked for and tells the host page its height, so the iframe
// can grow with it (embed.js on the host page applies it).
(function () {
  "use strict";
  var article = document.querySelector("article.story[data-slug]");
  var list = document.getElementById("entries");
  if (!article || !list) return;
  var limit = parseInt(article.dataset.limit, 10) || 20;
  var sent = -1;
  var CLOCK = { hour: "2-digit", minute: "2-digit" };
  var DAY_CLOCK = { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };

  function trim() {
    while (list.children.length > limit) list.lastElementChild.remove();
  }

  // The server writes UTC; a reader wants their own clock (and the date when not today).
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime")), today = new Date().toDateString();
      if (isNaN(date)) return;
      var text = date.toLocaleString([], date.toDateString() === today ? CLOCK : DAY_CLOCK);
      if (el.textContent !== text) el.textContent = text;
      el.title = date.toLocaleString();
    });
  }

  function report() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === sent || window.parent === window) return;
    sent = height;
    // The height is no secret, and the host page's origin is not known here: any may hear it.
    window.parent.postMessage(
      { type: "liveblog:height", slug: article.dataset.slug, height: height }, "*");
  }

  new MutationObserver(function () { trim(); localTimes(list); report(); })
    .observe(list, { childList: true });
  if (window.ResizeObserver) new ResizeObserver(report).observe(document.documentElement);
  window.addEventListener("load", report);
  // embed.js may arrive on the host page after our first report: it asks again.
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !event.data || event.data.type !== "liveblog:measure") return;
    sent = -1;
    report();
  });
  trim();
  localTimes(article);
  report();
})();
