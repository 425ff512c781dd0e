/* On every page: a request htmx could not show (a 403 after the page's token expired, a 404,
   a 500, no network) is said where the buyer is looking, with a way out, instead of doing
   nothing. Messages come from the page (data-i18n-failed / data-i18n-reload on the area). */
(function () {
  "use strict";

  function requestFailed(evt) {
    var source = evt.detail && evt.detail.elt;
    var area = source && source.closest && source.closest("[data-i18n-failed]");
    if (!area) return;
    var old = area.querySelector("[data-request-failed]");
    if (old) old.remove();
    var notice = document.createElement("p");
    notice.className = "notice notice-error";
    notice.setAttribute("role", "alert");
    notice.setAttribute("tabindex", "-1");
    notice.setAttribute("data-request-failed", "");
    notice.textContent = area.getAttribute("data-i18n-failed") + " ";
    var reload = document.createElement("a");
    reload.href = window.location.href;
    reload.textContent = area.getAttribute("data-i18n-reload");
    notice.appendChild(reload);
    // Beside the control that was used, or at the top of the area.
    var inline = area.hasAttribute("data-failed-inline");
    var anchor = inline ? source.closest("[data-failed-here]") || source : area.firstChild;
    anchor.parentNode.insertBefore(notice, anchor);
    notice.focus();  // also scrolls it into view
  }

  document.addEventListener("htmx:responseError", requestFailed);
  document.addEventListener("htmx:sendError", requestFailed);

  // A form that loads the next page is sent once: a second click while that page loads
  // would repeat the request (a second add of the same tickets). htmx forms keep htmx's own
  // handling; a page come back to (history) can send its forms again.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (evt.defaultPrevented || !(form instanceof HTMLFormElement)) return;
    if (form.method !== "post" || form.hasAttribute("hx-post")) return;
    if (form.hasAttribute("data-sending")) {
      evt.preventDefault();
      return;
    }
    form.setAttribute("data-sending", "");
  });
  window.addEventListener("pageshow", function () {
    var sending = document.querySelectorAll("form[data-sending]");
    for (var i = 0; i < sending.length; i++) sending[i].removeAttribute("data-sending");
  });
})();
