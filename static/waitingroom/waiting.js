/* The waiting page: when it is this buyer's turn, their choice is posted to start the order
   (the button does the same without JavaScript). Each look swaps the status in anew; the
   live region is told only what changed (the place, the wait, the turn), so a screen reader
   doesn't read the page out again every few seconds. */
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

  function continueWhenAdmitted() {
    var form = document.getElementById("waiting-continue");
    if (!form || form.getAttribute("data-auto") !== "1" || form.hasAttribute("data-sent")) return;
    form.setAttribute("data-sent", "");
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  }

  document.addEventListener("DOMContentLoaded", function () {
    said = news(); // what the page first showed is read with the page
    continueWhenAdmitted();
  });
  document.addEventListener("htmx:afterSettle", function () {
    sayWhatChanged();
    continueWhenAdmitted();
  });
})();
