/* The waiting page: when it is this buyer's turn, their choice is posted to start the order
   (the button does the same without JavaScript). */
(function () {
  "use strict";

  function continueWhenAdmitted() {
    var form = document.getElementById("waiting-continue");
    if (!form || form.getAttribute("data-auto") !== "1" || form.hasAttribute("data-sent")) return;
    form.setAttribute("data-sent", "");
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  }

  document.addEventListener("DOMContentLoaded", continueWhenAdmitted);
  document.addEventListener("htmx:afterSettle", continueWhenAdmitted);
})();
