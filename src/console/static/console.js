// Custody console: small progressive enhancement. Every page works without it.
(function () {
  'use strict';
  // A token shown once: selected on focus, so it can be copied with the keyboard.
  var secret = document.querySelector('input.secret');
  if (secret) {
    secret.addEventListener('focus', function () { secret.select(); });
    secret.focus();
  }
  // Buttons of a form being submitted are disabled, so a double press does not send it twice.
  Array.prototype.forEach.call(document.querySelectorAll('form[method="post"]'), function (form) {
    form.addEventListener('submit', function () {
      window.setTimeout(function () {
        Array.prototype.forEach.call(form.querySelectorAll('button'), function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
