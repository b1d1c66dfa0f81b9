// Times in the reader's own zone: <time datetime data-format="relative|clock|datetime">.
// Relative times ("4 min ago") stay fresh; the exact time shows on hover (title) and on
// focus (data-exact, shown by the stylesheet).
(function () {
  "use strict";
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var clockOf = function (d) { return pad(d.getHours()) + ":" + pad(d.getMinutes()); };
  // A story runs for days: a time from another day says which.
  var dayClockOf = function (d) {
    if (d.toDateString() === new Date().toDateString()) return clockOf(d);
    return d.toLocaleDateString(undefined, { day: "numeric", month: "short" }) + " " + clockOf(d);
  };

  function relative(date) {
    var seconds = (Date.now() - date.getTime()) / 1000;
    if (seconds < 45) return "just now";
    var minutes = Math.round(seconds / 60);
    if (minutes < 60) return minutes + " min ago";
    var hours = Math.round(minutes / 60);
    if (hours < 24) return hours + (hours === 1 ? " hour ago" : " hours ago");
    return dayClockOf(date);
  }

  function refresh(root) {
    (root || document).querySelectorAll("time[data-format]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      var exact = date.toLocaleString(undefined, {
        weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"
      });
      var format = el.dataset.format;
      el.textContent = format === "relative" ? relative(date)
        : format === "clock" ? dayClockOf(date) : exact;
      el.title = exact;
      el.dataset.exact = exact;
    });
  }

  window.LiveblogTimes = { refresh: refresh };
  refresh(document);
  window.setInterval(function () { refresh(document); }, 30000);
})();
