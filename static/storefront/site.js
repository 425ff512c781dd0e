/* On every page: a request htmx could not show (a 403 after the page's token expired, a 404,
   a 500, no network) is said where the buyer is looking, with a way out, instead of doing
   nothing. Messages come from the page (data-i18n-failed / data-i18n-reload on the area).
   Forms on shared pages get their CSRF token, and the header its order count, from cookies. */
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

  function cookie(name) {
    var pairs = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < pairs.length; i++) {
      var at = pairs[i].indexOf("=");
      if (pairs[i].slice(0, at) === name) return decodeURIComponent(pairs[i].slice(at + 1));
    }
    return "";
  }

  // Pages shared between buyers (served from caches) carry no CSRF token: a form takes it
  // from the cookie as it is sent. A browser without the cookie gets one first from a tiny
  // page that sets it; if that fails, the form goes as it is and the server asks to confirm.
  var csrf = document.querySelector('meta[name="csrf-cookie"]');

  function tokenField(form) {
    var field = form.querySelector('input[name="csrfmiddlewaretoken"]');
    if (field) return field.value ? null : field;
    field = document.createElement("input");
    field.type = "hidden";
    field.name = "csrfmiddlewaretoken";
    form.appendChild(field);
    return field;
  }

  function sendWithToken(form, field, submitter) {
    if (submitter && submitter.name) {  // form.submit() leaves the pressed button out
      var pressed = document.createElement("input");
      pressed.type = "hidden";
      pressed.name = submitter.name;
      pressed.value = submitter.value;
      form.appendChild(pressed);
    }
    var send = function () {
      field.value = cookie(csrf.content);
      form.submit();
    };
    fetch(csrf.getAttribute("data-url"), { credentials: "same-origin", cache: "no-store" })
      .then(send, send);
  }

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!csrf || evt.defaultPrevented || !(form instanceof HTMLFormElement)) return;
    if (form.method !== "post" || form.hasAttribute("data-sending")) return;
    if (new URL(form.action, location.href).origin !== location.origin) return;
    var field = tokenField(form);
    if (!field) return;
    var token = cookie(csrf.content);
    if (token) {
      field.value = token;
      return;
    }
    evt.preventDefault();
    form.setAttribute("data-sending", "");
    sendWithToken(form, field, evt.submitter);
  });

  document.addEventListener("htmx:configRequest", function (evt) {
    if (!csrf || evt.detail.verb === "get" || evt.detail.headers["X-CSRFToken"]) return;
    var token = cookie(csrf.content);
    if (token) evt.detail.headers["X-CSRFToken"] = token;
  });

  // The header's order count, from the cookie the server sets when the cart changes.
  function showCartCount() {
    var badge = document.getElementById("cart-count");
    var name = badge && badge.getAttribute("data-cookie");
    if (!name) return;
    var value = cookie(name);
    var count = /^[0-9]{1,4}$/.test(value) ? Math.min(parseInt(value, 10), 999) : 0;
    badge.textContent = count > 0 ? String(count) : "";
  }
  showCartCount();

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
    showCartCount();  // a page come back to from history shows the cart as it is now
    var sending = document.querySelectorAll("form[data-sending]");
    for (var i = 0; i < sending.length; i++) sending[i].removeAttribute("data-sending");
  });
})();
