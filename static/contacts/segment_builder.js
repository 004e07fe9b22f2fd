// The segment builder: rows of (field, comparison, value) kept in sync with
// the form's JSON rules field, and a live count of the contacts they match.
// Without JavaScript the JSON field itself is shown and can be edited.
(function () {
  "use strict";
  var form = document.querySelector("[data-segment-builder]");
  var schemaNode = document.getElementById("segment-schema");
  if (!form || !schemaNode) return;

  var schema = JSON.parse(schemaNode.textContent);
  var fields = {};
  schema.fields.forEach(function (f) { fields[f.name] = f; });
  var textarea = form.querySelector('textarea[name="rules"]');
  var list = form.querySelector("[data-rules]");
  var match = form.querySelector("[data-match]");
  var countBox = form.querySelector("[data-count-box]");
  var countNode = form.querySelector("[data-count]");
  var countOf = form.querySelector("[data-count-of]");
  var sample = form.querySelector("[data-sample]");
  var errors = form.querySelector("[data-errors]");
  var countUrl = form.getAttribute("data-count-url");
  var INPUT_TYPES = { text: "text", number: "number", money: "number", days: "number",
                      count: "number", campaigns: "number", date: "date" };
  var HINTS = { days: "days", campaigns: "campaigns" };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function option(value, label, selected) {
    var node = el("option", { value: value }, label);
    if (selected) node.selected = true;
    return node;
  }

  var rowCounter = 0;

  function addRow(rule) {
    rule = rule || { field: "status", op: "eq", value: "subscribed" };
    rowCounter += 1;
    var id = "rule-" + rowCounter;
    var row = el("li", { "class": "rule", "data-rule": "" });
    var fieldSelect = el("select", { "aria-label": "Field", "data-part": "field", id: id + "-field" });
    schema.fields.forEach(function (f) {
      fieldSelect.appendChild(option(f.name, f.label, f.name === rule.field));
    });
    var keyInput = el("input", { type: "text", "class": "rule-key", "aria-label": "Attribute name",
                                 placeholder: "attribute, e.g. city", "data-part": "key" });
    keyInput.value = rule.key || "";
    var opSelect = el("select", { "aria-label": "Comparison", "data-part": "op" });
    var valueSlot = el("div", { "class": "rule-value" });
    var remove = el("button", { type: "button", "class": "button button-ghost rule-remove",
                                "aria-label": "Remove this rule" }, "✕");
    row.append(fieldSelect, keyInput, opSelect, valueSlot, remove);
    list.appendChild(row);

    function fillOperators(chosenOp) {
      var f = fields[fieldSelect.value];
      opSelect.innerHTML = "";
      f.operators.forEach(function (op) {
        opSelect.appendChild(option(op.name, op.label.replace("…", "N"), op.name === chosenOp));
      });
      keyInput.hidden = !f.needs_key;
    }

    function fillValue(value) {
      var f = fields[fieldSelect.value];
      var op = f.operators.filter(function (o) { return o.name === opSelect.value; })[0];
      valueSlot.innerHTML = "";
      valueSlot.hidden = op.kind === "none";
      if (op.kind === "none") return;
      var input;
      if (op.kind === "choice") {
        input = el("select", { "aria-label": "Value", "data-part": "value" });
        f.choices.forEach(function (c) { input.appendChild(option(c[0], c[1], String(value) === c[0])); });
        if (!f.choices.length) input.appendChild(option("", "Nothing to choose yet"));
      } else {
        input = el("input", { type: INPUT_TYPES[op.kind] || "text", "aria-label": "Value",
                              "data-part": "value" });
        if (op.kind === "money" || op.kind === "number") input.step = "any";
        if (op.kind === "days" || op.kind === "campaigns") input.min = "1";
        if (op.kind === "count") input.min = "0";
        if (HINTS[op.kind]) input.placeholder = HINTS[op.kind];
        input.value = value === undefined || value === null ? "" : value;
      }
      valueSlot.appendChild(input);
    }

    fillOperators(rule.op);
    fillValue(rule.value);
    fieldSelect.addEventListener("change", function () {
      fillOperators(null);
      fillValue("");
      changed();
    });
    opSelect.addEventListener("change", function () {
      var input = valueSlot.querySelector("[data-part=value]");
      fillValue(input ? input.value : "");
      changed();
    });
    remove.addEventListener("click", function () {
      row.remove();
      changed();
    });
    return row;
  }

  function currentRules() {
    var rules = [];
    list.querySelectorAll("[data-rule]").forEach(function (row) {
      var rule = {
        field: row.querySelector("[data-part=field]").value,
        op: row.querySelector("[data-part=op]").value
      };
      var key = row.querySelector("[data-part=key]");
      if (!key.hidden) rule.key = key.value.trim();
      var value = row.querySelector("[data-part=value]");
      if (value && !row.querySelector(".rule-value").hidden) rule.value = value.value;
      rules.push(rule);
    });
    return { match: match.value, rules: rules };
  }

  var timer = null;
  var latest = 0;

  function changed() {
    textarea.value = JSON.stringify(currentRules());
    clearTimeout(timer);
    timer = setTimeout(count, 300);
  }

  function showErrors(messages) {
    errors.innerHTML = "";
    messages.forEach(function (m) { errors.appendChild(el("li", {}, m)); });
    errors.hidden = !messages.length;
  }

  function count() {
    var rules = currentRules();
    if (!rules.rules.length) {
      countNode.textContent = "–";
      countOf.textContent = "Add a rule to see who matches.";
      sample.innerHTML = "";
      showErrors([]);
      return;
    }
    var ticket = ++latest;
    countBox.setAttribute("aria-busy", "true");
    fetch(countUrl + "?rules=" + encodeURIComponent(JSON.stringify(rules)),
          { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (ticket !== latest) return; // an older answer arriving late
        countBox.removeAttribute("aria-busy");
        if (data.errors) {
          countNode.textContent = "–";
          countOf.textContent = "";
          sample.innerHTML = "";
          showErrors(data.errors);
          return;
        }
        showErrors([]);
        countNode.textContent = data.count.toLocaleString();
        countOf.textContent = "of " + data.total.toLocaleString() + " contact" +
          (data.total === 1 ? "" : "s") + " match";
        sample.innerHTML = "";
        data.sample.forEach(function (email) { sample.appendChild(el("li", {}, email)); });
        if (data.count > data.sample.length) sample.appendChild(el("li", {}, "…"));
      })
      .catch(function () {
        if (ticket !== latest) return;
        countBox.removeAttribute("aria-busy");
        showErrors(["The count could not be loaded; check the connection and try again."]);
      });
  }

  // Start from the form's JSON (a saved segment, or what was posted back).
  var initial;
  try { initial = JSON.parse(textarea.value || "{}"); } catch (e) { initial = null; }
  if (!initial || !Array.isArray(initial.rules)) initial = { match: "all", rules: [] };
  match.value = initial.match === "any" ? "any" : "all";
  initial.rules.forEach(function (rule) { if (fields[rule.field]) addRow(rule); });
  if (!initial.rules.length) addRow();

  // The builder replaces the JSON field; its errors stay in view.
  var jsonField = form.querySelector("[data-json-field]");
  jsonField.querySelectorAll("label, textarea, .help").forEach(function (n) { n.style.display = "none"; });
  form.querySelector("[data-match-box]").hidden = false;
  var addButton = form.querySelector("[data-add-rule]");
  addButton.hidden = false;
  addButton.addEventListener("click", function () {
    var row = addRow();
    row.querySelector("select").focus();
    changed();
  });
  list.addEventListener("input", changed);
  list.addEventListener("change", changed);
  match.addEventListener("change", changed);
  changed();
})();
