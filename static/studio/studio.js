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
