// Forms with data-confirm ask before they submit (e.g. sending a campaign).
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// Selects with data-autosubmit submit their form when changed.
document.addEventListener("change", function (event) {
  if (event.target.hasAttribute("data-autosubmit") && event.target.form) {
    event.target.form.requestSubmit();
  }
});
