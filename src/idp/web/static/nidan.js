/* Nidan progressive enhancement. Every page works without this file; it only adds comfort.
 *
 * Resend cooldown: an element with data-countdown="<seconds>" (see the `cooldown` macro)
 * gets a live m:ss countdown in its [data-countdown-time] child. The button whose id is in
 * data-countdown-target is disabled until the time is up; then the sentence is hidden and
 * the button enabled. The server enforces the cooldown either way.
 */
(function () {
  "use strict";

  function format(seconds) {
    var rest = seconds % 60;
    return Math.floor(seconds / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function startCountdown(element) {
    var total = parseInt(element.getAttribute("data-countdown"), 10);
    if (!(total > 0)) {
      return;
    }
    var targetId = element.getAttribute("data-countdown-target");
    var target = targetId ? document.getElementById(targetId) : null;
    var display = element.querySelector("[data-countdown-time]");
    var deadline = Date.now() + total * 1000;
    if (target) {
      target.disabled = true;
    }

    function tick() {
      var left = Math.ceil((deadline - Date.now()) / 1000);
      if (left <= 0) {
        element.hidden = true;
        if (target) {
          target.disabled = false;
        }
        return;
      }
      if (display) {
        display.textContent = format(left);
      }
      // Wake just after the shown second runs out, so the display never lags or skips.
      var untilNext = (deadline - Date.now()) % 1000;
      window.setTimeout(tick, untilNext > 0 ? untilNext + 20 : 1000);
    }

    tick();
  }

  // A print button is hidden until script can make it work: without script the page says
  // to use the browser's own Print command.
  function initPrint() {
    var buttons = document.querySelectorAll("[data-print]");
    for (var i = 0; i < buttons.length; i += 1) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function () { window.print(); });
    }
  }

  function init() {
    var elements = document.querySelectorAll("[data-countdown]");
    for (var i = 0; i < elements.length; i += 1) {
      startCountdown(elements[i]);
    }
    initPrint();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
