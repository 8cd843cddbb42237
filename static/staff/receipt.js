/* The receipt page's print button (no inline script: the CSP forbids it). */
(function () {
  "use strict";
  var button = document.getElementById("print-receipt");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
})();
