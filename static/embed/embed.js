/* Guest storefront embed for merchants' pages: one <script src=".../embed.js" async> shows the
   event list, one event, or a "Buy tickets" button that opens the checkout in a modal.
   Frames are served from the script's own base URL; messages go to and come from that exact
   origin and that frame's window only. Global: window.GuestStorefront = {version, mount}. */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src) {
    // Only without currentScript (very old browsers): the last embed.js so far is this one.
    var scripts = document.querySelectorAll('script[src*="embed.js"]');
    script = scripts[scripts.length - 1];
  }
  if (!script) return;

  var BASE = new URL(".", script.src).href.replace(/\/$/, "");
  var ORIGIN = new URL(BASE).origin;
  var MOUNTED = "data-storefront-mounted";
  var PART = "data-storefront-part";
  var TYPES = {
    ready: "storefront:ready",
    resize: "storefront:resize",
    error: "storefront:error",
    "cart:updated": "cart:updated",
    "checkout:step": "checkout:step",
    "checkout:complete": "checkout:complete",
  };
  var root = document.documentElement;

  // Many host pages forbid inline <style> (CSP): a constructed sheet, or styles set through
  // element.style, are allowed where a style element or attribute is not.
  var STYLES = {
    dialog:
      "box-sizing:border-box;width:min(760px,calc(100% - 32px));max-width:none;" +
      "max-height:calc(100% - 48px);margin:auto;padding:0;border:0;border-radius:12px;" +
      "overflow:hidden;background:#fff;color:#1c1c21;box-shadow:0 16px 48px rgba(0,0,0,.35)",
    bar:
      "display:flex;align-items:center;gap:8px;flex:none;min-height:48px;" +
      "padding:2px 4px 2px 16px;border-bottom:1px solid #dcdce2;" +
      "font:600 16px/1.3 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif",
    title: "flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap",
    note: "font-weight:400;font-size:14px;color:#55555f",
    close:
      "flex:none;width:44px;height:44px;margin:0;padding:0;border:0;border-radius:8px;" +
      "background:none;color:inherit;font:400 22px/1 system-ui,sans-serif;cursor:pointer",
    frame: "flex:1 1 auto;min-height:0",
  };
  var OPEN = "display:flex;flex-direction:column";
  var PHONE_QUERY = "(max-width: 600px)";
  var PHONE = "width:100%;height:100%;max-height:none;margin:0;border-radius:0";
  var adopted = false;
  var canAdopt =
    "adoptedStyleSheets" in document &&
    window.CSSStyleSheet &&
    "replaceSync" in CSSStyleSheet.prototype;

  function selector(part) {
    var dialog = "[" + PART + "=dialog]";
    return part === "dialog" ? "dialog" + dialog : dialog + " [" + PART + "=" + part + "]";
  }

  function adoptStyles() {
    if (adopted) return;
    adopted = true;
    var css = "";
    for (var part in STYLES) css += selector(part) + "{" + STYLES[part] + "}";
    var dialog = selector("dialog");
    var close = selector("close");
    css +=
      dialog + "[open]{" + OPEN + "}" +
      dialog + "::backdrop{background:rgba(16,16,24,.6)}" +
      close + ":disabled{opacity:.35;cursor:not-allowed}" +
      close + ":hover:enabled{background:rgba(0,0,0,.07)}" +
      "@media " + PHONE_QUERY + "{" + dialog + "{" + PHONE + "}}";
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    document.adoptedStyleSheets = document.adoptedStyleSheets.concat(sheet);
  }

  function make(tag, part) {
    var el = document.createElement(tag);
    if (part) {
      el.setAttribute(PART, part);
      if (!canAdopt && part !== "dialog") el.style.cssText += ";" + STYLES[part];
    }
    return el;
  }

  function emit(el, type, detail) {
    el.dispatchEvent(new CustomEvent(type, { bubbles: true, detail: detail }));
  }

  function mount(el) {
    if (!el || (el.hasAttribute(MOUNTED) && el.getAttribute(MOUNTED) !== "error")) return false;
    if (el.tagName === "SCRIPT") {
      // The script-only snippet: its data attributes describe a placeholder right after it.
      var div = document.createElement("div");
      for (var i = 0; i < el.attributes.length; i++) {
        var attr = el.attributes[i];
        if (/^data-/.test(attr.name) && attr.name !== MOUNTED) {
          div.setAttribute(attr.name, attr.value);
        }
      }
      div.setAttribute("data-storefront", "");
      el.setAttribute(MOUNTED, "");
      el.parentNode.insertBefore(div, el.nextSibling);
      el = div;
    }

    var data = el.dataset;
    var merchant = data.merchant;
    var eventId = data.event;
    var mode = data.mode || (eventId ? "event" : "list");
    var problem =
      merchant != null && !/^[a-z0-9-]{1,50}$/.test(merchant)
        ? "data-merchant"
        : eventId != null && !/^[0-9]{1,18}$/.test(eventId)
          ? "data-event"
          : !/^(list|event|button)$/.test(mode) || (mode === "event" && !eventId)
            ? "data-mode"
            : location.origin === "null"
              ? "page origin"
              : "";
    if (problem) {
      el.setAttribute(MOUNTED, "error");
      var message = "Storefront embed not shown: invalid " + problem + ".";
      if (window.console) console.warn(message, el);
      emit(el, "storefront:error", { message: message });
      return false;
    }
    el.setAttribute(MOUNTED, "");

    var id = "sf" + Math.random().toString(36).slice(2, 12);
    var query = new URLSearchParams({ origin: location.origin, frame: id });
    if (data.email) query.set("email", data.email);
    if (data.coupon) query.set("coupon", data.coupon);
    var frame = make("iframe", mode === "button" && "frame");
    frame.title = data.title || "Tickets";
    frame.setAttribute("allow", "payment");
    frame.style.cssText += ";border:0;width:100%;display:block;height:480px";
    frame.src =
      BASE +
      (merchant ? "/m/" + merchant : "") +
      "/embed/" +
      (eventId && mode !== "list" ? "events/" + eventId + "/" : "") +
      "?" +
      query;

    var link = el.querySelector("a[href]");
    var label = data.label || (link && link.textContent.trim()) || "Buy tickets";
    if (link) link.parentNode.removeChild(link);

    var ready = false;
    var loads = 0;
    var modal = mode === "button" ? modalFor(el, frame, id, label, focusFrame) : null;

    function focusFrame() {
      if (!ready || !frame.contentWindow) return false;
      frame.focus();
      frame.contentWindow.postMessage(
        { source: "storefront-host", version: 1, frame: id, type: "focus", detail: {} },
        ORIGIN
      );
      return true;
    }

    window.addEventListener("message", function (event) {
      var msg = event.data;
      if (event.origin !== ORIGIN || !event.source || event.source !== frame.contentWindow) return;
      if (!msg || typeof msg !== "object" || msg.source !== "storefront" || msg.version !== 1) {
        return;
      }
      if (msg.frame !== id) return;
      if (msg.type === "dismiss") {
        if (modal) modal.dismiss(); // Escape pressed inside the frame
        return;
      }
      if (!Object.prototype.hasOwnProperty.call(TYPES, msg.type)) return;
      var detail = msg.detail && typeof msg.detail === "object" ? msg.detail : {};
      var type = msg.type;
      if (type === "resize") {
        var height = detail.height;
        if (typeof height !== "number" || !(height >= 0 && height < 1e6)) return;
        frame.style.height = Math.ceil(height) + "px";
      } else if (type === "ready") {
        ready = true;
        // A new page in a tall inline frame: show its top, not the middle of the old one.
        if (loads++ && !modal && frame.getBoundingClientRect().top < 0) frame.scrollIntoView();
      }
      if (modal) modal.update(type, detail);
      emit(el, TYPES[type], detail);
    });

    if (!modal) {
      // Inline, the frame is as tall as its page: a scrollbar shown while it is too short
      // would narrow the page, make it taller, and report a height that is soon wrong.
      frame.setAttribute("scrolling", "no");
      el.appendChild(frame);
    }
    return true;
  }

  function modalFor(el, frame, id, label, focusFrame) {
    if (canAdopt) adoptStyles();
    var busy = false;
    var wantsFocus = false;
    var savedOverflow = null;
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = label;

    var dialog = make("dialog", "dialog");
    var bar = make("div", "bar");
    var title = make("span", "title");
    var note = make("span", "note");
    var close = make("button", "close");
    title.id = id + "-title";
    title.textContent = frame.title;
    note.id = id + "-note";
    note.textContent = "Payment in progress, please wait";
    note.hidden = true;
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    close.textContent = "\u2715";
    dialog.setAttribute("aria-labelledby", title.id);
    bar.appendChild(title);
    bar.appendChild(note);
    bar.appendChild(close);
    dialog.appendChild(bar);
    el.appendChild(button);
    el.appendChild(dialog);

    // Without constructed sheets: the phone layout follows the media query by hand.
    var phone = canAdopt ? null : window.matchMedia(PHONE_QUERY);
    function restyle() {
      if (phone) {
        dialog.style.cssText =
          STYLES.dialog + (phone.matches ? ";" + PHONE : "") + (dialog.open ? ";" + OPEN : "");
      }
    }
    if (phone) {
      restyle();
      if (phone.addEventListener) phone.addEventListener("change", restyle);
      else phone.addListener(restyle);
    }

    function setBusy(value) {
      busy = value;
      close.disabled = value;
      note.hidden = !value;
      if (value) close.setAttribute("aria-describedby", note.id);
      else close.removeAttribute("aria-describedby");
    }

    button.addEventListener("click", function () {
      if (dialog.open) return;
      if (!frame.parentNode) dialog.appendChild(frame);
      savedOverflow = root.style.overflow;
      root.style.overflow = "hidden"; // the page behind must not scroll instead of the frame
      dialog.showModal();
      restyle();
      wantsFocus = !focusFrame();
    });
    function dismiss() {
      if (dialog.open && !busy) {
        dialog.close();
        closed(); // now: the close event comes a task later
      }
    }
    function closed() {
      if (savedOverflow === null) return;
      root.style.overflow = savedOverflow;
      savedOverflow = null;
      wantsFocus = false;
      restyle();
      button.focus();
    }
    close.addEventListener("click", dismiss);
    // While a payment is processing: Escape is not even a close request (a second one in a
    // row may otherwise close the dialog whatever the cancel handler says).
    document.addEventListener(
      "keydown",
      function (event) {
        if (busy && dialog.open && event.key === "Escape") event.preventDefault();
      },
      true
    );
    dialog.addEventListener("cancel", function (event) {
      event.preventDefault();
      dismiss(); // unless busy
    });
    dialog.addEventListener("close", closed); // also when the page's own script closes it

    return {
      dismiss: dismiss,
      update: function (type, detail) {
        if (type === "checkout:step") setBusy(detail.state === "processing");
        // A new page, a finished order or a failed request: never leave the buyer shut in.
        else if (type !== "resize" && type !== "cart:updated") setBusy(false);
        if (type === "ready" && wantsFocus && dialog.open) wantsFocus = !focusFrame();
      },
    };
  }

  function scan() {
    var found = document.querySelectorAll("[data-storefront]:not(script):not([" + MOUNTED + "])");
    for (var i = 0; i < found.length; i++) mount(found[i]);
  }

  if (!window.GuestStorefront) {
    window.GuestStorefront = Object.freeze({ version: 1, mount: mount });
  }
  var own = script.dataset;
  if (
    document.currentScript === script &&
    (own.merchant != null || own.event != null || own.mode != null || own.storefront != null)
  ) {
    mount(script);
  }
  scan();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
})();
