/* Guest storefront embed for merchants' pages: one <script src=".../embed.js" async> shows the
   event list, one event, or a "Buy tickets" button that opens the checkout in a modal.
   Frames are served from the script's own base URL; messages go to and come from that exact
   origin and that frame's window only. Before framing, the storefront is asked whether it
   will show this merchant (and event) on this page, so a wrong setting is named instead of
   a broken frame. Global: window.GuestStorefront = {version, mount, unmount, scan}. */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src) {
    // Only without currentScript (very old browsers): the last embed.js so far is this one.
    var scripts = document.querySelectorAll('script[src*="embed"]');
    script = scripts[scripts.length - 1];
  }
  if (!script) return;

  var BASE = new URL(".", script.src).href.replace(/\/$/, "");
  var ORIGIN = new URL(BASE).origin;
  var own = script.dataset;
  var ownSnippet =
    document.currentScript === script &&
    (own.merchant != null || own.event != null || own.mode != null || own.storefront != null);

  // The same script included several times: one instance per storefront, kept where no page
  // script looks (a symbol, not a global name).
  var INSTANCES = typeof Symbol === "function" ? Symbol.for("guest-storefront") : "__guestStorefront";
  var instances = window[INSTANCES] || {};
  if (!window[INSTANCES]) {
    try {
      Object.defineProperty(window, INSTANCES, { value: instances });
    } catch (e) {
      return;
    }
  }
  var running = instances[BASE];
  if (running) {
    if (ownSnippet) running.mount(script);
    running.scan();
    return;
  }

  var MOUNTED = "data-storefront-mounted";
  var PART = "data-storefront-part";
  var TYPES = {
    ready: "storefront:ready",
    resize: "storefront:resize",
    error: "storefront:error",
    "cart:updated": "cart:updated",
    "checkout:step": "checkout:step",
    "checkout:complete": "checkout:complete",
    "queue:waiting": "queue:waiting",
    "queue:admitted": "queue:admitted",
    "queue:sold-out": "queue:sold-out",
  };
  var root = document.documentElement;
  var embeds = {}; // frame id -> mounted embed
  var checks = {}; // check URL -> promise of the storefront's answer
  var listening = false;

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
  var NOTICE =
    "padding:12px 16px;border:1px solid #c9c9d1;border-left:4px solid #b3261e;border-radius:8px;" +
    "background:#fff;color:#1c1c21;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif";
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

  // What visitors read in the host page's own elements (the frames speak for themselves), by
  // language: the embed's data-lang, else the host page's <html lang>, else English.
  // Each: the frame's title, the button's label, the note while paying, the close button.
  var WORDS = {
    en: "Tickets|Buy tickets|Payment in progress, please wait|Close",
    de: "Tickets|Tickets kaufen|Zahlung läuft, bitte warten Sie|Schließen",
    fr: "Billets|Acheter des billets|Paiement en cours, veuillez patienter|Fermer",
    es: "Entradas|Comprar entradas|Pago en curso, espera un momento|Cerrar",
  };

  function wordsFor(data) {
    var code = (data.lang || root.lang || "").slice(0, 2).toLowerCase();
    return (WORDS.hasOwnProperty(code) ? WORDS[code] : WORDS.en).split("|");
  }

  // What each attribute takes, said when it is wrong.
  var EXPECTED = {
    "data-merchant": "the merchant's slug: lower-case letters, digits and hyphens",
    "data-event": "an event id: digits",
    "data-mode": "list, event (with data-event) or button",
    "data-items": 'ticket type id:quantity pairs separated by commas, e.g. "12:2,15:1"',
    "data-theme": "light, dark or auto",
    "data-lang": 'a language code, e.g. "en" or "de"',
    "page origin": "open the page over http or https",
  };

  // What the placeholder asks for, or the attribute that is wrong.
  function describe(data) {
    var merchant = data.merchant;
    var eventId = data.event;
    var mode = data.mode || (eventId ? "event" : "list");
    var items = data.items;
    var problem =
      merchant != null && !/^[a-z0-9-]{1,50}$/.test(merchant)
        ? "data-merchant"
        : eventId != null && !/^[0-9]{1,18}$/.test(eventId)
          ? "data-event"
          : !/^(list|event|button)$/.test(mode) || (mode === "event" && !eventId)
            ? "data-mode"
            : items != null && !/^\s*[0-9]{1,18}:[0-9]{1,3}(\s*,\s*[0-9]{1,18}:[0-9]{1,3})*\s*$/.test(items)
              ? "data-items"
              : data.theme != null && !/^(light|dark|auto)$/.test(data.theme)
                ? "data-theme"
                : data.lang != null && !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(data.lang)
                  ? "data-lang"
                  : location.origin === "null"
                    ? "page origin"
                    : "";
    if (problem) return { problem: problem };
    return {
      merchant: merchant,
      eventId: eventId && mode !== "list" ? eventId : "",
      mode: mode,
      items: items ? items.replace(/\s+/g, "") : "",
    };
  }

  function fail(el, message, setting) {
    el.setAttribute(MOUNTED, "error");
    if (window.console) console.error(message, el);
    var notice = el.querySelector("[" + PART + "=notice]");
    if (!notice) {
      notice = make("p", "notice");
      notice.setAttribute("role", "alert");
      notice.style.cssText = NOTICE;
      el.insertBefore(notice, el.firstChild);
    }
    notice.textContent = message;
    emit(el, "storefront:error", { message: message, setting: setting });
  }

  // One question per merchant and event on a page: is this page allowed, and do they exist?
  // Asked by a script element, which the host's CSP allows as it allows this script.
  function check(spec) {
    var query = new URLSearchParams({ origin: location.origin });
    if (spec.merchant) query.set("merchant", spec.merchant);
    if (spec.eventId) query.set("event", spec.eventId);
    var url = BASE + "/embed.v1/check.js?" + query;
    if (!checks[url]) {
      checks[url] = new Promise(function (resolve) {
        var asker = document.createElement("script");
        var answer = { ok: true }; // unanswered: the frame itself will say what is wrong
        asker.async = true;
        asker.addEventListener("storefront:check", function (event) {
          if (event.detail && typeof event.detail === "object") answer = event.detail;
        });
        asker.onload = asker.onerror = function () {
          asker.parentNode.removeChild(asker);
          resolve(answer);
        };
        asker.src = url;
        (document.head || root).appendChild(asker);
      });
    }
    return checks[url];
  }

  function mount(el) {
    // Mounted, or being checked: nothing to do. After an error or unmount(): again.
    var state = el && el.nodeType === 1 ? el.getAttribute(MOUNTED) : "";
    if (state !== null && state !== "error" && state !== "unmounted") return false;
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

    var spec = describe(el.dataset);
    if (spec.problem) {
      var hint = EXPECTED[spec.problem];
      fail(
        el,
        "Storefront embed not shown: invalid " + spec.problem + (hint ? " (" + hint + ")." : "."),
        spec.problem
      );
      return false;
    }
    el.setAttribute(MOUNTED, "checking");
    check(spec).then(function (answer) {
      if (el.getAttribute(MOUNTED) !== "checking") return; // unmounted meanwhile
      if (answer && answer.ok === false && typeof answer.message === "string") {
        fail(el, answer.message, typeof answer.setting === "string" ? answer.setting : "");
      } else {
        frame(el, spec);
      }
    });
    return true;
  }

  function frame(el, spec) {
    var data = el.dataset;
    var mode = spec.mode;
    el.setAttribute(MOUNTED, "");
    var old = el.querySelector("[" + PART + "=notice]");
    if (old) old.parentNode.removeChild(old);

    var id = "sf" + Math.random().toString(36).slice(2, 12);
    var query = new URLSearchParams({ origin: location.origin, frame: id });
    if (data.email) query.set("email", data.email);
    if (data.coupon) query.set("coupon", data.coupon);
    if (spec.items) query.set("items", spec.items);
    if (data.lang) query.set("lang", data.lang);
    if (data.theme) query.set("theme", data.theme);
    var words = wordsFor(data);
    var iframe = make("iframe", mode === "button" && "frame");
    iframe.title = data.title || words[0];
    iframe.setAttribute("allow", "payment");
    iframe.style.cssText += ";border:0;width:100%;display:block;height:480px";
    iframe.src =
      BASE +
      (spec.merchant ? "/m/" + spec.merchant : "") +
      "/embed/" +
      (spec.eventId ? "events/" + spec.eventId + "/" : "") +
      "?" +
      query;

    // The fallback link comes back on unmount.
    var link = el.querySelector("a[href]");
    var label = data.label || (link && link.textContent.trim()) || words[1];
    var fallback = link ? { node: link, parent: link.parentNode, next: link.nextSibling } : null;
    if (link) link.parentNode.removeChild(link);

    var embed = { el: el, frame: iframe, id: id, ready: false, loads: 0, modal: null, fallback: fallback };
    embed.send = function (type, detail) {
      if (!embed.ready || !iframe.contentWindow) return false;
      iframe.contentWindow.postMessage(
        { source: "storefront-host", version: 1, frame: id, type: type, detail: detail },
        ORIGIN
      );
      return true;
    };
    embed.focus = function () {
      if (!embed.ready || !iframe.contentWindow) return false;
      iframe.focus();
      return embed.send("focus", {});
    };
    embeds[id] = embed;
    listen();
    if (mode === "button") {
      embed.modal = modalFor(embed, label, words);
    } else {
      // Inline, the frame is as tall as its page: a scrollbar shown while it is too short
      // would narrow the page, make it taller, and report a height that is soon wrong.
      iframe.setAttribute("scrolling", "no");
      el.appendChild(iframe);
    }
  }

  function embedOf(el) {
    for (var id in embeds) if (embeds[id].el === el) return embeds[id];
    return null;
  }

  function unmount(el) {
    var state = el && el.getAttribute ? el.getAttribute(MOUNTED) : null;
    if (state === null || state === "unmounted") return false;
    var embed = embedOf(el);
    if (embed) {
      delete embeds[embed.id];
      if (embed.modal) embed.modal.remove();
      if (embed.frame.parentNode) embed.frame.parentNode.removeChild(embed.frame);
      var fallback = embed.fallback;
      if (fallback) {
        var parent = fallback.parent && el.contains(fallback.parent) ? fallback.parent : el;
        parent.insertBefore(fallback.node, fallback.next && fallback.next.parentNode === parent ? fallback.next : null);
      }
    }
    var notice = el.querySelector("[" + PART + "=notice]");
    if (notice) notice.parentNode.removeChild(notice);
    // Left alone by scan() and the observer until mount(el) is called again.
    el.setAttribute(MOUNTED, "unmounted");
    return true;
  }

  function listen() {
    if (listening) return;
    listening = true;
    window.addEventListener("message", onMessage);
    // While a payment is processing: Escape is not even a close request (a second one in a
    // row may otherwise close the dialog whatever the cancel handler says).
    document.addEventListener(
      "keydown",
      function (event) {
        if (event.key !== "Escape") return;
        for (var id in embeds) {
          var modal = embeds[id].modal;
          if (modal && modal.holds()) event.preventDefault();
        }
      },
      true
    );
  }

  // The open dialog makes the host page inert, but not what another site's frame holds in
  // its own process: Tab coming back from the browser's toolbar could land there. Each frame
  // behind the dialog is told, and makes its own page inert until the dialog closes.
  function behindDialog(embed) {
    for (var id in embeds) {
      if (embeds[id] !== embed && embeds[id].modal && embeds[id].modal.isOpen()) return true;
    }
    return false;
  }

  function shutBehind(opened, inert) {
    for (var id in embeds) if (embeds[id] !== opened) embeds[id].send("inert", { inert: inert });
  }

  function onMessage(event) {
    var msg = event.data;
    if (event.origin !== ORIGIN || !event.source) return;
    if (!msg || typeof msg !== "object" || msg.source !== "storefront" || msg.version !== 1) return;
    var embed = typeof msg.frame === "string" && Object.prototype.hasOwnProperty.call(embeds, msg.frame)
      ? embeds[msg.frame]
      : null;
    if (!embed || event.source !== embed.frame.contentWindow) return;
    var modal = embed.modal;
    if (msg.type === "dismiss") {
      if (modal) modal.dismiss(); // Escape pressed inside the frame
      return;
    }
    if (!Object.prototype.hasOwnProperty.call(TYPES, msg.type)) return;
    var detail = msg.detail && typeof msg.detail === "object" ? msg.detail : {};
    var type = msg.type;
    var iframe = embed.frame;
    if (type === "resize") {
      var height = detail.height;
      if (typeof height !== "number" || !(height >= 0 && height < 1e6)) return;
      iframe.style.height = Math.ceil(height) + "px";
    } else if (type === "ready") {
      embed.ready = true;
      if (behindDialog(embed)) embed.send("inert", { inert: true }); // a new page behind it
      // A new page in a tall inline frame: show its top, not the middle of the old one.
      if (embed.loads++ && !modal && iframe.getBoundingClientRect().top < 0) iframe.scrollIntoView();
    }
    if (modal) modal.update(type, detail);
    emit(embed.el, TYPES[type], detail);
  }

  function modalFor(embed, label, words) {
    var el = embed.el;
    var iframe = embed.frame;
    var id = embed.id;
    if (canAdopt) adoptStyles();
    var busy = false;
    var wantsFocus = false;
    var savedOverflow = null;
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.className = "storefront-button";
    button.setAttribute("part", "storefront-button");
    button.setAttribute(PART, "button");

    var dialog = make("dialog", "dialog");
    var bar = make("div", "bar");
    var title = make("span", "title");
    var note = make("span", "note");
    var close = make("button", "close");
    title.id = id + "-title";
    title.textContent = iframe.title;
    note.id = id + "-note";
    note.textContent = words[2];
    note.hidden = true;
    close.type = "button";
    close.setAttribute("aria-label", words[3]);
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
      if (!iframe.parentNode) dialog.appendChild(iframe);
      savedOverflow = root.style.overflow;
      root.style.overflow = "hidden"; // the page behind must not scroll instead of the frame
      dialog.showModal();
      shutBehind(embed, true);
      restyle();
      wantsFocus = !embed.focus();
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
      shutBehind(embed, false);
      restyle();
      if (button.isConnected) button.focus();
    }
    close.addEventListener("click", dismiss);
    dialog.addEventListener("cancel", function (event) {
      event.preventDefault();
      dismiss(); // unless busy
    });
    dialog.addEventListener("close", closed); // also when the page's own script closes it

    return {
      dismiss: dismiss,
      holds: function () {
        return busy && dialog.open;
      },
      isOpen: function () {
        return dialog.open;
      },
      update: function (type, detail) {
        if (type === "checkout:step") setBusy(detail.state === "processing");
        // A new page, a finished order or a failed request: never leave the buyer shut in.
        else if (type !== "resize" && type !== "cart:updated") setBusy(false);
        if (type === "ready" && wantsFocus && dialog.open) wantsFocus = !embed.focus();
      },
      remove: function () {
        if (dialog.open) dialog.close();
        closed();
        if (phone) {
          if (phone.removeEventListener) phone.removeEventListener("change", restyle);
          else phone.removeListener(restyle);
        }
        el.removeChild(button);
        el.removeChild(dialog);
      },
    };
  }

  function scan() {
    var found = document.querySelectorAll("[data-storefront]:not(script):not([" + MOUNTED + "])");
    for (var i = 0; i < found.length; i++) mount(found[i]);
    // Placeholders the page took away: their frames go, and nothing of theirs stays listening.
    for (var id in embeds) if (!embeds[id].el.isConnected) unmount(embeds[id].el);
  }

  var api = { version: 1, mount: mount, unmount: unmount, scan: scan };
  instances[BASE] = api;
  if (!window.GuestStorefront) window.GuestStorefront = Object.freeze(api);

  if (ownSnippet) mount(script);
  scan();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  // Single-page sites: placeholders added (or removed) later are picked up without a call.
  if (window.MutationObserver) {
    var pending = false;
    new MutationObserver(function (records) {
      for (var i = 0; i < records.length; i++) {
        if (records[i].addedNodes.length || records[i].removedNodes.length) {
          if (!pending) {
            pending = true;
            Promise.resolve().then(function () {
              pending = false;
              scan();
            });
          }
          return;
        }
      }
    }).observe(document.documentElement, { childList: true, subtree: true });
  }
})();
