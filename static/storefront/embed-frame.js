/* Inside the embed iframe: tells the host page (the merchant's site) about this page through
   postMessage, to the one origin the server put in data-embed-parent, and takes its
   requests. Message shape: {source, version: 1, frame, type, detail}. */
(function () {
  "use strict";

  var body = document.body;
  var parentOrigin = body && body.dataset.embedParent;
  var frameId = body && body.dataset.embedFrame;
  if (!parentOrigin || window.parent === window) return;
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(frameId || "")) return;
  try {
    // postMessage throws on anything but an exact origin; "*" must never reach it.
    if (new URL(parentOrigin).origin !== parentOrigin) return;
  } catch (e) {
    return;
  }

  function post(type, detail) {
    window.parent.postMessage(
      { source: "storefront", version: 1, frame: frameId, type: type, detail: detail || {} },
      parentOrigin
    );
  }

  // Each server marker is sent once: the attribute survives re-scans, a swapped-in copy
  // is a new element and is sent again (that is the point: it reports the new state).
  // A state a page refreshes by polling is sent only when it changed.
  var POLLED = { "queue:waiting": true };
  var lastPolled = {};
  function sendMarkers() {
    var markers = document.querySelectorAll("[data-embed-event]:not([data-embed-sent])");
    for (var i = 0; i < markers.length; i++) {
      var el = markers[i];
      el.setAttribute("data-embed-sent", "");
      var detail;
      try {
        detail = JSON.parse(el.getAttribute("data-embed-detail") || "{}");
      } catch (e) {
        detail = null;
      }
      if (!detail || typeof detail !== "object" || Array.isArray(detail)) detail = {};
      var type = el.getAttribute("data-embed-event");
      if (!type) continue;
      if (POLLED[type]) {
        var seen = JSON.stringify(detail);
        if (lastPolled[type] === seen) continue;
        lastPolled[type] = seen;
      }
      post(type, detail);
    }
  }

  // The root element's box is the content's height whatever the iframe's height is
  // (scrollHeight is never less than the viewport, so it could only ever grow).
  var lastHeight = -1;
  function sendHeight() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== lastHeight) {
      lastHeight = height;
      post("resize", { height: height });
    }
  }

  var scheduled = false;
  function scheduleHeight() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(function () {
      scheduled = false;
      sendHeight();
    });
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== parentOrigin || event.source !== window.parent) return;
    var msg = event.data;
    if (!msg || msg.source !== "storefront-host" || msg.version !== 1) return;
    if (msg.frame !== frameId) return;
    if (msg.type === "focus") {
      var main = document.getElementById("main");
      if (main) main.focus();
    } else if (msg.type === "inert") {
      // Behind the host page's dialog: out of reach of Tab, as the rest of that page is.
      document.documentElement.inert = !!(msg.detail && msg.detail.inert === true);
    }
  });

  // Browsers refuse autofocus in a frame from another site (a console line each time), so
  // the server marks the element instead. It takes focus only when the buyer is already in
  // the frame: a frame loading on the host page never takes focus from it.
  function focusMarked() {
    var el = document.querySelector("[data-autofocus]");
    if (!el) return;
    el.removeAttribute("data-autofocus");
    if (document.hasFocus()) el.focus();
  }

  // The page's path as on the full site: the frame's own URLs carry the embed session's
  // reference, which must never reach the host page (its analytics would record a link
  // into a live checkout).
  post("ready", { path: body.dataset.embedPath || "" });
  sendMarkers();
  sendHeight();
  focusMarked();

  if (window.ResizeObserver) {
    var observer = new ResizeObserver(scheduleHeight);
    observer.observe(document.documentElement);
    observer.observe(body);
  }
  // An iframe out of view may get no animation frames (and no resize observations) until
  // it is scrolled to; the load event still comes, once images are in place.
  window.addEventListener("load", sendHeight);

  // Escape pressed in here never reaches the host page's dialog: ask the host to close it
  // (it will not while a payment is processing). Left alone if the page used the key.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !event.defaultPrevented && !event.isComposing) {
      post("dismiss", {});
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    sendMarkers();
    focusMarked();
  });
  new MutationObserver(sendMarkers).observe(body, { childList: true, subtree: true });

  // The page's language, from the server (data-i18n-* on <body>); English if absent.
  function t(key, fallback) {
    return body.getAttribute("data-i18n-" + key) || fallback;
  }
  function failed(message) {
    return function () {
      post("error", { message: message });
    };
  }
  document.addEventListener(
    "htmx:responseError",
    failed(t("error-failed", "Something went wrong. Please try again."))
  );
  document.addEventListener(
    "htmx:sendError",
    failed(t("error-unreachable", "We couldn’t reach the server. Please try again."))
  );
})();
