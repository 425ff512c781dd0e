/* The waiting page: when it is this buyer's turn, their choice is posted to start the order
   (the button does the same without JavaScript). Each look swaps the status in anew; the
   live region is told only what changed (the place, the wait, the turn), so a screen reader
   doesn't read the page out again every few seconds. Details typed while waiting but not
   yet saved go with the choice, so the order starts past the cart with them. */
(function () {
  "use strict";

  var said = null;

  function news() {
    var parts = document.querySelectorAll("#waiting-status [data-say]");
    return Array.prototype.map
      .call(parts, function (el) {
        return el.textContent.trim();
      })
      .join(" ");
  }

  function sayWhatChanged() {
    var region = document.getElementById("waiting-said");
    var now = news();
    if (region && said !== null && now && now !== said) region.textContent = now;
    said = now;
  }

  function carryDetails(form) {
    var typed = document.getElementById("waiting-details-form");
    if (!typed || form.hasAttribute("data-carried")) return;
    form.setAttribute("data-carried", "");
    ["first_name", "last_name", "email"].forEach(function (name) {
      var field = typed.elements[name];
      if (!field || !field.value.trim()) return;
      var carried = document.createElement("input");
      carried.type = "hidden";
      carried.name = name;
      carried.value = field.value;
      form.appendChild(carried);
    });
  }

  function continueWhenAdmitted() {
    var form = document.getElementById("waiting-continue");
    if (!form || form.getAttribute("data-auto") !== "1" || form.hasAttribute("data-sent")) return;
    form.setAttribute("data-sent", "");
    carryDetails(form);
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  }

  document.addEventListener("DOMContentLoaded", function () {
    said = news(); // what the page first showed is read with the page
    continueWhenAdmitted();
  });
  document.addEventListener("submit", function (event) {
    if (event.target.id === "waiting-continue") carryDetails(event.target);
  });
  document.addEventListener("htmx:afterSettle", function () {
    sayWhatChanged();
    continueWhenAdmitted();
  });
})();
