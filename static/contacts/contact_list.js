// The contact list's bulk actions: tick all on the page, count the ticked,
// and offer the group only for the actions that need one.
(function () {
  var form = document.getElementById("bulk-form");
  if (!form) return;
  var boxes = function () {
    return document.querySelectorAll('input[name="ids"][form="bulk-form"]');
  };
  var all = document.querySelector("[data-check-all]");
  var label = form.querySelector("[data-selected-count]");
  var action = form.querySelector('select[name="action"]');
  var group = form.querySelector("[data-bulk-group]");

  function update() {
    var ticked = Array.prototype.filter.call(boxes(), function (b) { return b.checked; }).length;
    label.textContent = ticked === 1 ? "1 ticked contact" : ticked + " ticked contacts";
    if (all) {
      all.checked = ticked > 0 && ticked === boxes().length;
      all.indeterminate = ticked > 0 && ticked < boxes().length;
    }
    var needsGroup = action.value === "add_to_group" || action.value === "remove_from_group";
    group.hidden = !needsGroup;
    group.required = needsGroup;
  }

  if (all) {
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      update();
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "ids" || event.target === action) update();
  });
  update();
})();
