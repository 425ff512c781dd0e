/* Checkout enhancements: card tokenisation with Stripe.js, the hold countdown, and a guard
   against double submission. Everything works without this file except card payment. */
(function () {
  "use strict";

  var stripeLoading = null;

  function loadStripe(url) {
    if (window.Stripe) return Promise.resolve(window.Stripe);
    if (stripeLoading) return stripeLoading;
    stripeLoading = new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = url;
      s.onload = function () { resolve(window.Stripe); };
      s.onerror = function () { stripeLoading = null; reject(new Error("Stripe.js failed to load")); };
      document.head.appendChild(s);
    });
    return stripeLoading;
  }

  // Translated messages come from the page (data-i18n-* on the element that needs them).
  function t(el, key) { return el.getAttribute("data-i18n-" + key) || key; }

  // The offline Stripe mock's inputs: spoken labels, short visible hints that fit a phone.
  function labelCardInputs(container) {
    var names = { number: t(container, "number"), exp_month: t(container, "exp-month"),
                  exp_year: t(container, "exp-year"), cvc: t(container, "cvc"),
                  postal_code: t(container, "postal-code") };
    var hints = { number: t(container, "number"), exp_month: "MM", exp_year: "YY",
                  cvc: t(container, "cvc-hint"), postal_code: t(container, "postal-code") };
    container.querySelectorAll("input").forEach(function (input) {
      if (!input.getAttribute("aria-label")) {
        var key = input.getAttribute("placeholder") || "";
        input.setAttribute("aria-label", names[key] || key);
        if (hints[key]) input.setAttribute("placeholder", hints[key]);
        input.setAttribute("inputmode", key === "postal_code" ? "text" : "numeric");
        input.setAttribute("autocomplete", key === "number" ? "cc-number" : key === "cvc" ? "cc-csc" : key === "postal_code" ? "postal-code" : "off");
      }
    });
  }

  function initPayment(form) {
    if (!form || form.dataset.ready) return;
    form.dataset.ready = "1";
    var errors = form.querySelector("#card-errors");
    var mount = form.querySelector("#card-element");
    var state = { card: null, stripe: null, busy: false };
    // Card entry and Pay exist only with JavaScript; without it the page says why.
    form.querySelectorAll("[data-needs-js]").forEach(function (el) { el.hidden = false; });
    loadStripe(form.dataset.stripeJs).then(function (Stripe) {
      state.stripe = Stripe(form.dataset.tokenizeKey);
      // Stripe's own messages (a declined or mistyped card) in the page's language.
      state.card = state.stripe.elements({ locale: document.documentElement.lang || "auto" }).create("card");
      state.card.mount(mount);
      labelCardInputs(mount);
    }).catch(function () {
      errors.textContent = t(form, "load-failed");
    });

    form.addEventListener("submit", function (evt) {
      evt.preventDefault();
      // One tokenisation and one submission, however often Pay is clicked.
      if (state.busy || !state.card) return;
      state.busy = true;
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      errors.textContent = "";
      var name = form.querySelector("[name=cardholder_name]").value;
      state.stripe.createToken(state.card, { name: name }).then(function (result) {
        if (result.error || !result.token) {
          errors.textContent = (result.error && result.error.message) || t(form, "check-card");
          state.busy = false;
          button.disabled = false;
          button.removeAttribute("aria-busy");
          return;
        }
        form.querySelector("[name=token]").value = result.token.id;
        form.querySelector("[name=brand]").value = (result.token.card && result.token.card.brand) || "";
        form.querySelector("[name=last_four]").value = (result.token.card && result.token.card.last4) || "";
        HTMLFormElement.prototype.submit.call(form);
      }, function () {
        errors.textContent = t(form, "unreachable");
        state.busy = false;
        button.disabled = false;
        button.removeAttribute("aria-busy");
      });
    });
  }

  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function mmss(left) { return Math.floor(left / 60) + ":" + pad(left % 60); }
  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, k) { return values[k]; });
  }

  // The hold countdown. The live region speaks at a few marks, with the time really left;
  // marks already passed when the page loaded stay quiet. At 0:00 the text says the hold
  // ended and what continuing will do.
  function initCountdowns(root) {
    root.querySelectorAll(".countdown[data-expires]").forEach(function (el) {
      if (el.dataset.ready) return;
      el.dataset.ready = "1";
      var ends = Date.parse(el.dataset.expires);
      var out = el.querySelector("[data-remaining]");
      var text = el.querySelector(".countdown-text");
      var announcer = el.querySelector("[data-countdown-announcer]");
      function secondsLeft() { return Math.max(0, Math.round((ends - Date.now()) / 1000)); }
      var marks = [300, 120, 60].filter(function (m) { return secondsLeft() > m; });
      function say(message) { if (announcer) announcer.textContent = message; }
      function tick() {
        if (!document.body.contains(el)) return;
        var left = secondsLeft();
        if (out) out.textContent = mmss(left);
        var spoken = false;
        while (marks.length && left <= marks[0]) {
          marks.shift();
          spoken = true;
        }
        if (left <= 0) {
          el.classList.add("countdown-ended");
          if (text) {
            text.textContent = "";
            var strong = document.createElement("strong");
            strong.textContent = t(el, "ended");
            text.appendChild(strong);
          }
          say(t(el, "ended"));
          return;
        }
        if (spoken) {
          say(left <= 60 ? t(el, "one-minute") : fill(t(el, "minutes"), { n: Math.ceil(left / 60) }));
        }
        setTimeout(tick, 1000);
      }
      tick();
    });
  }

  // "This ticket is mine": the attendee's details are then not required.
  function initMine(root) {
    root.querySelectorAll("input[type=checkbox][name$='-keep']").forEach(function (box) {
      if (box.dataset.ready) return;
      box.dataset.ready = "1";
      var fieldset = box.closest("fieldset");
      if (!fieldset) return;
      function sync() {
        fieldset.querySelectorAll("[data-required-unless-mine]").forEach(function (input) {
          if (box.checked) input.removeAttribute("aria-required");
          else input.setAttribute("aria-required", "true");
        });
      }
      box.addEventListener("change", sync);
      sync();
    });
  }

  function init(root) {
    var checkout = document.getElementById("checkout");
    if (checkout && checkout.dataset.title) document.title = checkout.dataset.title;
    initPayment((root.querySelector && root.querySelector("#payment-form")) || null);
    initCountdowns(root);
    initMine(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function () { init(document); });
})();
