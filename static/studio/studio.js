// Pipeline Studio: small behaviours shared by every page (no framework).
(function () {
  "use strict";

  // A failed htmx request shows a clear message instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("htmx-error");
    if (!box) return;
    var xhr = event.detail.xhr;
    var text = "The request failed (" + xhr.status + ").";
    try {
      var data = JSON.parse(xhr.responseText);
      if (data && data.error && data.error.message) text = data.error.message;
    } catch (e) {
      if (xhr.status === 403) text = "You do not have permission to do that.";
      else if (xhr.status === 404) text = "That no longer exists.";
    }
    box.textContent = text;
    box.hidden = false;
  });
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("htmx-error");
    if (!box) return;
    box.textContent = "The studio could not be reached. Check your connection and try again.";
    box.hidden = false;
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("htmx-error");
    if (box) box.hidden = true;
  });

  // The run page's live refresh waits while the reader is in the steps filter: swapping the
  // part would close a picker they opened. It goes on at the next tick after they leave it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || elt.id !== "run-live") return;
    var active = document.activeElement;
    if (active && active.closest && active.closest(".steps-filter") && elt.contains(active)) {
      event.preventDefault();
    }
  });

  // A followed log stays scrolled to its end while new output arrives, unless the reader
  // scrolled up to read something.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var log = event.detail.target;
    if (!log || !log.hasAttribute || !log.hasAttribute("data-follow")) return;
    log.dataset.atEnd = String(log.scrollHeight - log.scrollTop - log.clientHeight < 24);
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var log = event.detail.target;
    if (!log || !log.hasAttribute || !log.hasAttribute("data-follow")) return;
    if (log.dataset.atEnd !== "false") log.scrollTop = log.scrollHeight;
  });

  // Plain forms that change something important ask first: <form data-confirm="Question?">.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // <select data-submit-on-change> sends its form as soon as a choice is made.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.hasAttribute && field.hasAttribute("data-submit-on-change") && field.form) {
      field.form.submit();
    }
  });

  // "Copy" buttons: data-copy-target names the element whose text is copied.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) return;
    var text = source.value !== undefined && source.tagName === "INPUT" ? source.value : source.textContent;
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      button.setAttribute("data-copied", "true");
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, done);
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
      document.body.removeChild(area);
      done();
    }
  });
})();

// Times: the server writes UTC (<time datetime="...Z" data-local>); the browser shows them in
// its own zone with the zone named. Relative times ("5 minutes ago") keep the local moment as
// their tooltip. Runs again on every htmx swap.
(function () {
  "use strict";
  var absolute = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  function localise(root) {
    var times = (root.querySelectorAll ? root : document).querySelectorAll("time[data-local]");
    for (var i = 0; i < times.length; i++) {
      var el = times[i];
      var moment = new Date(el.getAttribute("datetime"));
      if (isNaN(moment.getTime())) continue;
      var text = absolute.format(moment);
      if (el.getAttribute("data-local") === "relative") el.title = text;
      else { el.textContent = text; el.title = moment.toISOString().replace(".000Z", "Z"); }
    }
  }
  // A new schedule's time zone starts as the browser's own, when the studio knows it.
  function browserZone(root) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var selects = (root.querySelectorAll ? root : document).querySelectorAll("select[data-browser-zone]");
    for (var i = 0; i < selects.length; i++) {
      var select = selects[i];
      for (var j = 0; j < select.options.length; j++) {
        if (select.options[j].value === zone) { select.value = zone; break; }
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { localise(document); browserZone(document); });
  document.addEventListener("htmx:load", function (event) { localise(event.target); browserZone(event.target); });
})();

// The Submit and Rerun dialog: a link with hx-target="#submit-dialog-body" fills the dialog,
// which then opens; without JavaScript the link opens the form's own page. A form refused
// with 400 (field errors) is swapped in like any answer, so the errors show in place.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (event.detail.xhr.status === 400 && target && target.closest && target.closest("[data-swap-400]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  function focusFirstError(root) {
    var invalid = root.querySelector("form[data-focus-first-error] [aria-invalid='true']");
    if (invalid) { invalid.focus(); return true; }
    return false;
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "submit-dialog-body") return;
    var dialog = document.getElementById("submit-dialog");
    if (dialog && !dialog.open && dialog.showModal) dialog.showModal();
    if (focusFirstError(target)) return;
    // A picker that re-rendered the dialog (another version) keeps the focus.
    var picker = event.detail.requestConfig && event.detail.requestConfig.elt;
    var again = picker && picker.tagName === "SELECT" && picker.id ? document.getElementById(picker.id) : null;
    var first = again || target.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  });
  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-close-dialog]");
    if (close) {
      var dialog = close.closest("dialog");
      if (dialog) dialog.close();
    }
  });
  // Field errors after a full-page submit: the first invalid field takes the focus, so a
  // screen reader announces it with its error (aria-describedby).
  document.addEventListener("DOMContentLoaded", function () { focusFirstError(document); });
})();

// Live lists: a refresh of #results (a poll, a filter, a sort) keeps what the reader was
// doing: ticked runs, open pickers, the table's horizontal scroll and the focused control.
(function () {
  "use strict";
  var kept = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "results") { kept = null; return; }
    var checked = [];
    target.querySelectorAll("input[type=checkbox][form=compare-form]:checked").forEach(function (box) {
      checked.push(box.value);
    });
    var open = [];
    target.querySelectorAll("details[id], details.column-picker").forEach(function (details, index) {
      if (details.open) open.push(details.id || "details-" + index);
    });
    var wrap = target.querySelector(".table-wrap");
    var focused = document.activeElement && target.contains(document.activeElement) ? document.activeElement : null;
    kept = {
      checked: checked,
      open: open,
      scrollLeft: wrap ? wrap.scrollLeft : 0,
      focusName: focused ? focused.getAttribute("name") : null,
      focusValue: focused ? focused.value : null
    };
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!kept) return;
    var results = document.getElementById("results");
    if (!results) return;
    kept.checked.forEach(function (value) {
      var box = results.querySelector("input[type=checkbox][form=compare-form][value='" + value + "']");
      if (box) box.checked = true;
    });
    results.querySelectorAll("details[id], details.column-picker").forEach(function (details, index) {
      if (kept.open.indexOf(details.id || "details-" + index) !== -1) details.open = true;
    });
    var wrap = results.querySelector(".table-wrap");
    if (wrap) wrap.scrollLeft = kept.scrollLeft;
    if (kept.focusName) {
      var again = results.querySelector("[name='" + kept.focusName + "'][value='" + kept.focusValue + "']");
      if (again) again.focus({ preventScroll: true });
    }
    kept = null;
  });
})();
