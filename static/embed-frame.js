// The iframe embed (/stories/{slug}/embed): live.js keeps the stream live and times.js shows
// its times in the reader's zone; this keeps it to the number of entries the host asked for
// and tells the host page its height, so the iframe can grow with it (embed.js on the host
// page applies it).
(function () {
  "use strict";
  var article = document.querySelector("article.story[data-slug]");
  var list = document.getElementById("entries");
  if (!article || !list) return;
  var limit = parseInt(article.dataset.limit, 10) || 20;
  var sent = -1;

  function trim() {
    while (list.children.length > limit) list.lastElementChild.remove();
  }

  function report() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === sent || window.parent === window) return;
    sent = height;
    // The height is no secret, and the host page's origin is not known here: any may hear it.
    window.parent.postMessage(
      { type: "liveblog:height", slug: article.dataset.slug, height: height }, "*");
  }

  new MutationObserver(function () { trim(); report(); })
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
  report();
})();
