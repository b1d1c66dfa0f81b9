// Desk behaviour htmx does not cover: errors shown beside the control that failed, times in
// the reporter's own zone, the slug suggestion that stops once edited, and the browser's
// UTC offset sent with shown times.
(function () {
  "use strict";

  // The error slot of the form (or entry, or section) el belongs to; the page's notice for
  // anything else (a background poll), never some other form's slot.
  function errorSlot(el) {
    var scope = el.closest("form") || el.closest(".entry-actions, li, section");
    // The form's own slot first: an upload zone inside it keeps its own errors.
    var slot = scope && (scope.querySelector(":scope > .form-error") || scope.querySelector(".form-error"));
    return slot || document.getElementById("desk-notice");
  }

  function showError(el, message) {
    var slot = errorSlot(el);
    if (!slot) return;
    slot.textContent = message;
    slot.hidden = false;
  }

  function messageOf(xhr) {
    var text = (xhr.responseText || "").trim();
    if (xhr.getResponseHeader("Content-Type") === "application/json") {
      try { return JSON.parse(text).error.message; } catch (e) { /* fall through */ }
    }
    if (!text || text.charAt(0) === "<") return "Something went wrong (" + xhr.status + "); try again.";
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  // Times in the reporter's own zone come from times.js (shared with the reader pages); the
  // browser's UTC offset goes with every shown time a form sends.
  function localizeTimes(root) {
    if (window.LiveblogTimes) window.LiveblogTimes.refresh(root);
    root.querySelectorAll("input[name=tz_offset]").forEach(function (input) {
      input.value = String(new Date().getTimezoneOffset());
    });
  }

  // A request clears its form's last error; not the composer's live preview, whose request
  // (sent as the reporter types, or late on a slow line) would wipe a publish error unread.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.matches("[hx-target='#preview']")) return;
    var slot = errorSlot(event.detail.elt);
    if (slot && slot.id !== "desk-notice") slot.textContent = "";
  });
  document.addEventListener("htmx:responseError", function (event) {
    showError(event.detail.elt, messageOf(event.detail.xhr));
  });
  var UNREACHABLE = "Could not reach the server. Check the connection and try again.";
  document.addEventListener("htmx:sendError", function (event) {
    showError(event.detail.elt, UNREACHABLE);
  });
  // Any answer shows the server is back: a notice that said otherwise goes.
  document.addEventListener("htmx:afterRequest", function (event) {
    var notice = document.getElementById("desk-notice");
    if (notice && event.detail.xhr && event.detail.xhr.status && notice.textContent === UNREACHABLE) {
      notice.textContent = "";
      notice.hidden = true;
    }
  });
  document.addEventListener("htmx:timeout", function (event) {
    showError(event.detail.elt, "The server did not answer in time. Try again.");
  });
  document.addEventListener("htmx:afterSettle", function () { localizeTimes(document); });

  // The slug follows the title until the reporter edits it.
  document.addEventListener("input", function (event) {
    if (event.target.id === "story-slug") event.target.dataset.touched = "yes";
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var slug = document.getElementById("story-slug");
    if (event.detail.target.id === "slug-field" && slug && slug.dataset.touched) {
      event.detail.shouldSwap = false;
    }
  });

  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-close-history]");
    if (close) close.closest(".history").textContent = "";
  });

  localizeTimes(document);
})();
