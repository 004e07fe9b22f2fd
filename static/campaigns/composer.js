// The campaign composer: an ordered list of blocks edited in place, with the
// mail compiled by the server and shown beside it (debounced, as you type).
// The blocks travel as JSON in hidden form fields; the server checks them.
(function () {
  "use strict";

  var form = document.getElementById("composer-form");
  var dataNode = document.getElementById("composer-data");
  if (!form || !dataNode) return;
  var data = JSON.parse(dataNode.textContent);

  var state = {
    main: { blocks: data.blocks || [] },
    locales: data.localeContent || {},
    current: "", // "" is the main version; else a locale code
  };
  var list = form.querySelector("[data-block-list]");
  var blocksInput = form.querySelector("input[name=content_blocks]");
  var localesInput = form.querySelector("input[name=locale_content]");
  var mainLocale = form.querySelector("select[name=locale]");
  var lastFocused = null;
  var timer = null;
  var requestNumber = 0;

  // --- Small DOM helpers ------------------------------------------------------

  var uid = 0;
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "class") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function field(labelText, control, help) {
    uid += 1;
    control.id = control.id || "block-field-" + uid;
    var wrap = el("div", { class: "field" }, [el("label", { for: control.id, text: labelText }), control]);
    if (help) wrap.appendChild(el("div", { class: "help", text: help }));
    return wrap;
  }

  function input(block, key, attrs) {
    var node = el("input", Object.assign({ type: "text" }, attrs || {}));
    node.value = block[key] == null ? "" : block[key];
    node.addEventListener("input", function () {
      block[key] = node.type === "number" ? Number(node.value) : node.value;
      changed();
    });
    return node;
  }

  function select(block, key, options, rerender) {
    var node = el("select");
    Object.keys(options).forEach(function (value) {
      var option = el("option", { value: value, text: options[value] });
      if (String(block[key]) === String(value)) option.selected = true;
      node.appendChild(option);
    });
    node.addEventListener("change", function () {
      block[key] = /^\d+$/.test(node.value) && key === "level" ? Number(node.value) : node.value;
      if (rerender) render(); else changed();
    });
    return node;
  }

  function textarea(block, key, rows) {
    var node = el("textarea", { rows: String(rows || 6), spellcheck: "true" });
    node.value = block[key] || "";
    node.addEventListener("input", function () { block[key] = node.value; changed(); });
    return node;
  }

  // --- The blocks of the version being edited -----------------------------------

  function version() {
    return state.current ? state.locales[state.current] : state.main;
  }

  function blocks() {
    var v = version();
    if (!v.blocks || !v.blocks.length) v.blocks = JSON.parse(JSON.stringify(state.main.blocks));
    return v.blocks;
  }

  var ALIGN = { left: "Left", center: "Centre", right: "Right" };

  var editors = {
    header: function (b) {
      return [
        el("p", { class: "help", text: "Shows the logo and colours from the brand settings." }),
        field("Tagline (optional)", input(b, "tagline")),
      ];
    },
    heading: function (b) {
      var row = el("div", { class: "form-row" }, [
        field("Size", select(b, "level", { 1: "Large", 2: "Medium" })),
        field("Alignment", select(b, "align", ALIGN)),
      ]);
      return [field("Heading", input(b, "text")), row];
    },
    text: function (b) { return [richText(b)]; },
    html: function (b) {
      return [field("Your own HTML", textarea(b, "html", 8),
        "Pasted HTML is cleaned: scripts, forms and event handlers are removed.")];
    },
    mjml: function (b) {
      return [field("Your own MJML", textarea(b, "mjml", 8),
        "One or more <mj-section> elements; the brand's fonts and colours apply.")];
    },
    image: function (b) {
      return [
        field("Image address", input(b, "src", { type: "url", placeholder: "https://" })),
        field("Description for people who cannot see it", input(b, "alt")),
        el("div", { class: "form-row" }, [
          field("Links to (optional)", input(b, "href", { type: "url", placeholder: "https://" })),
          field("Width in px", input(b, "width", { type: "number", min: "50", max: "600" })),
        ]),
      ];
    },
    button: function (b) {
      return [
        el("div", { class: "form-row" }, [
          field("Label", input(b, "label")),
          field("Alignment", select(b, "align", ALIGN)),
        ]),
        field("Links to", input(b, "url", { type: "url", placeholder: "https://" })),
      ];
    },
    products: productsEditor,
    coupon: function (b) {
      return [
        el("p", { class: "help", text: "Shows the coupon chosen under “Audience and coupon”: each recipient's code and when it expires, in their time zone." }),
        field("Title", input(b, "title", { placeholder: "Your coupon" })),
        field("Text under the code (optional)", input(b, "text")),
      ];
    },
    divider: function () { return [el("p", { class: "help", text: "A thin line between parts of the mail." })]; },
    social: socialEditor,
    footer: function (b) {
      return [
        el("p", { class: "help", text: "Always shows your postal address, the unsubscribe link and the preference link; it stays at the end." }),
        field("Extra line (optional)", input(b, "text", { placeholder: "Questions? Just reply to this mail." })),
      ];
    },
  };

  function richText(b) {
    var area = el("div", { class: "rich-text", contenteditable: "true", role: "textbox", "aria-multiline": "true", "aria-label": "Text" });
    area.innerHTML = b.html || "";
    area.addEventListener("input", function () { b.html = area.innerHTML; changed(); });
    var tools = el("div", { class: "rich-tools", role: "toolbar", "aria-label": "Formatting" });
    [["bold", "B", "Bold"], ["italic", "I", "Italic"], ["insertUnorderedList", "• List", "Bulleted list"], ["createLink", "Link", "Link"]].forEach(function (tool) {
      var button = el("button", { type: "button", class: "button button-small", text: tool[1], "aria-label": tool[2] });
      button.addEventListener("mousedown", function (event) { event.preventDefault(); });
      button.addEventListener("click", function () {
        area.focus();
        var value = null;
        if (tool[0] === "createLink") {
          value = window.prompt("Link to (https://…)", "https://");
          if (!value) return;
        }
        document.execCommand(tool[0], false, value);
        b.html = area.innerHTML;
        changed();
      });
      tools.appendChild(button);
    });
    return el("div", { class: "field" }, [tools, area]);
  }

  function productsEditor(b) {
    b.product_ids = b.product_ids || [];
    var out = [
      el("div", { class: "form-row" }, [
        field("Title", input(b, "title")),
        field("Which products", select(b, "rule", data.rules, true)),
      ]),
      field("How many", input(b, "count", { type: "number", min: "1", max: "6" })),
    ];
    if (b.rule === "category") {
      var categories = {};
      data.categories.forEach(function (name) { categories[name] = name; });
      if (!b.category && data.categories.length) b.category = data.categories[0];
      out.push(field("Category", select(b, "category", categories)));
    }
    if (b.rule === "personal") {
      out.push(el("p", { class: "help", text: "Each recipient sees products from the categories they bought from or looked at, never one they already bought or one out of stock. The preview shows bestsellers for the sample contact." }));
    }
    if (b.rule === "manual") out.push(productPicker(b));
    return out;
  }

  function productPicker(b) {
    var search = el("input", { type: "search", placeholder: "Search products", "aria-label": "Search products" });
    var grid = el("div", { class: "product-picker" });
    data.products.forEach(function (product) {
      var box = el("input", { type: "checkbox", value: String(product.id) });
      box.checked = b.product_ids.indexOf(product.id) !== -1;
      box.addEventListener("change", function () {
        b.product_ids = b.product_ids.filter(function (id) { return id !== product.id; });
        if (box.checked) b.product_ids.push(product.id);
        changed();
      });
      var picture = product.image ? el("img", { src: product.image, alt: "", loading: "lazy" }) : el("span", { class: "no-image", text: "No picture" });
      var stock = product.stock === null ? "" : product.stock > 0 ? product.stock + " in stock" : "Out of stock";
      grid.appendChild(el("label", { class: "product-choice", "data-name": product.name.toLowerCase() }, [
        box, picture,
        el("span", { class: "product-name", text: product.name }),
        el("span", { class: "product-price", text: product.price + (stock ? " · " + stock : "") }),
      ]));
    });
    if (!data.products.length) grid.appendChild(el("p", { class: "muted", text: "No products in stock yet: the shop sync or an admin adds them." }));
    search.addEventListener("input", function () {
      var term = search.value.trim().toLowerCase();
      grid.querySelectorAll(".product-choice").forEach(function (choice) {
        choice.hidden = term && choice.getAttribute("data-name").indexOf(term) === -1;
      });
    });
    return el("div", { class: "field" }, [el("div", { class: "label-like", text: "Pick products" }), search, grid]);
  }

  function socialEditor(b) {
    b.links = b.links || [];
    var rows = b.links.map(function (link, index) {
      var remove = el("button", { type: "button", class: "button button-small button-ghost", text: "Remove", "aria-label": "Remove this link" });
      remove.addEventListener("click", function () { b.links.splice(index, 1); render(); });
      return el("div", { class: "social-row" }, [
        field("Network", select(link, "network", data.social)),
        field("Address", input(link, "url", { type: "url", placeholder: "https://" })),
        remove,
      ]);
    });
    var add = el("button", { type: "button", class: "button button-small", text: "Add a link" });
    add.addEventListener("click", function () { b.links.push({ network: "instagram", url: "" }); render(); });
    return rows.concat([add]);
  }

  // --- The list: render, move, add, remove ------------------------------------

  function render() {
    var items = blocks();
    if (!items.length || items[items.length - 1].type !== "footer") {
      var footers = items.filter(function (b) { return b.type === "footer"; });
      items.splice.apply(items, [0, items.length].concat(items.filter(function (b) { return b.type !== "footer"; })));
      items.push(footers[0] || { type: "footer", text: "" });
    }
    list.textContent = "";
    items.forEach(function (block, index) {
      var isFooter = block.type === "footer";
      var head = el("div", { class: "block-head" }, [
        el("span", { class: "drag-handle", draggable: isFooter ? "false" : "true", title: "Drag to move", "aria-hidden": "true", text: "⋮⋮" }),
        el("strong", { class: "block-title", text: data.blockTypes[block.type] || block.type }),
      ]);
      if (!isFooter) {
        var actions = el("span", { class: "block-actions" });
        [["up", "↑", "Move up"], ["down", "↓", "Move down"], ["remove", "Remove", "Remove block"]].forEach(function (action) {
          var button = el("button", { type: "button", class: "button button-small button-ghost", text: action[1], "aria-label": action[2] + " (" + (data.blockTypes[block.type] || block.type) + ")", "data-action": action[0] });
          button.addEventListener("click", function () { act(action[0], index); });
          actions.appendChild(button);
        });
        head.appendChild(actions);
      }
      var body = el("div", { class: "block-body" }, (editors[block.type] || function () { return []; })(block));
      var item = el("li", { class: "block block-" + block.type, "data-index": String(index), "data-type": block.type }, [head, body]);
      dragAndDrop(item, index, isFooter);
      list.appendChild(item);
    });
    changed();
  }

  function act(action, index) {
    var items = blocks();
    var last = items.length - 1; // the footer
    if (action === "remove") {
      if (!window.confirm("Remove this " + (data.blockTypes[items[index].type] || "block").toLowerCase() + " block?")) return;
      items.splice(index, 1);
    } else {
      var target = action === "up" ? index - 1 : index + 1;
      if (target < 0 || target >= last) return;
      move(index, target);
    }
    render();
    var moved = list.querySelector('[data-index="' + Math.max(0, Math.min(index + (action === "up" ? -1 : action === "down" ? 1 : 0), items.length - 1)) + '"] [data-action="' + action + '"]');
    if (moved) moved.focus();
  }

  function move(from, to) {
    var items = blocks();
    var block = items.splice(from, 1)[0];
    items.splice(to, 0, block);
  }

  var dragged = null;
  function dragAndDrop(item, index, isFooter) {
    var handle = item.querySelector(".drag-handle");
    handle.addEventListener("dragstart", function (event) {
      dragged = index;
      item.classList.add("is-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", String(index));
      event.dataTransfer.setDragImage(item, 20, 20);
    });
    handle.addEventListener("dragend", function () { item.classList.remove("is-dragging"); dragged = null; });
    item.addEventListener("dragover", function (event) {
      if (dragged === null || isFooter) return;
      event.preventDefault();
      item.classList.add("is-drop-target");
    });
    item.addEventListener("dragleave", function () { item.classList.remove("is-drop-target"); });
    item.addEventListener("drop", function (event) {
      event.preventDefault();
      item.classList.remove("is-drop-target");
      var from = dragged === null ? Number(event.dataTransfer.getData("text/plain")) : dragged;
      if (from !== index && !isFooter) { move(from, index); render(); }
    });
  }

  function addBlock() {
    var type = form.querySelector("[data-add-type]").value;
    var items = blocks();
    var fresh = JSON.parse(JSON.stringify(data.blockDefaults[type]));
    fresh.type = type;
    items.splice(items.length - 1, 0, fresh); // before the footer
    render();
    var added = list.querySelector('[data-index="' + (items.length - 2) + '"]');
    if (added) {
      added.scrollIntoView({ block: "nearest" });
      var first = added.querySelector("input, textarea, select, [contenteditable]");
      if (first) first.focus();
    }
  }

  // --- Languages ----------------------------------------------------------------

  function renderTabs() {
    var tabs = form.querySelector("[data-locale-tabs]");
    tabs.textContent = "";
    var main = mainLocale ? mainLocale.value : "en";
    var codes = [""].concat(Object.keys(state.locales).filter(function (code) { return code !== main; }));
    codes.forEach(function (code) {
      var label = code ? data.locales[code] || code : (data.locales[main] || main) + " (main)";
      var tab = el("button", { type: "button", class: "locale-tab", role: "tab", "aria-selected": String(state.current === code), text: label, "data-locale": code });
      tab.addEventListener("click", function () { switchTo(code); });
      tabs.appendChild(tab);
    });
    var adder = el("select", { "aria-label": "Add a language", class: "locale-add" });
    adder.appendChild(el("option", { value: "", text: "+ Language" }));
    Object.keys(data.locales).forEach(function (code) {
      if (code !== main && !state.locales[code]) adder.appendChild(el("option", { value: code, text: data.locales[code] }));
    });
    adder.addEventListener("change", function () {
      if (!adder.value) return;
      state.locales[adder.value] = { subject: form.querySelector("[name=subject]").value, preheader: form.querySelector("[name=preheader]").value, blocks: JSON.parse(JSON.stringify(state.main.blocks)) };
      switchTo(adder.value);
    });
    tabs.appendChild(adder);
  }

  function switchTo(code) {
    state.current = code;
    var isMain = !code;
    form.querySelector("[data-main-fields]").hidden = !isMain;
    form.querySelector("[data-locale-fields]").hidden = isMain;
    if (!isMain) {
      form.querySelectorAll("[data-locale-input]").forEach(function (node) {
        node.value = state.locales[code][node.getAttribute("data-locale-input")] || "";
      });
    }
    renderTabs();
    render();
  }

  form.querySelectorAll("[data-locale-input]").forEach(function (node) {
    node.addEventListener("input", function () {
      if (state.current) { state.locales[state.current][node.getAttribute("data-locale-input")] = node.value; changed(); }
    });
  });
  form.querySelector("[data-copy-main]").addEventListener("click", function () {
    if (state.current && window.confirm("Replace this language's blocks with a copy of the main version's?")) {
      state.locales[state.current].blocks = JSON.parse(JSON.stringify(state.main.blocks));
      render();
    }
  });
  form.querySelector("[data-remove-locale]").addEventListener("click", function () {
    if (state.current && window.confirm("Remove the " + (data.locales[state.current] || state.current) + " version?")) {
      delete state.locales[state.current];
      switchTo("");
    }
  });
  if (mainLocale) mainLocale.addEventListener("change", function () { switchTo(""); });

  // --- Merge fields -------------------------------------------------------------

  var picker = form.querySelector("[data-merge-field]");
  data.fields.forEach(function (choice) { picker.appendChild(el("option", { value: choice[1], text: choice[0] })); });
  form.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target.matches("input[type=text], input:not([type]), textarea, [contenteditable]")) lastFocused = target;
  });
  picker.addEventListener("change", function () {
    var tag = picker.value;
    picker.value = "";
    if (!tag) return;
    var target = lastFocused || form.querySelector("[name=subject]");
    target.focus();
    if (target.isContentEditable) {
      document.execCommand("insertText", false, tag);
    } else {
      var start = target.selectionStart == null ? target.value.length : target.selectionStart;
      var end = target.selectionEnd == null ? start : target.selectionEnd;
      target.setRangeText(tag, start, end, "end");
      target.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });

  // --- Preview ----------------------------------------------------------------------

  var frame = form.querySelector("[data-preview-frame]");
  var stage = form.querySelector("[data-preview-stage]");
  var status = form.querySelector("[data-preview-status]");
  var problem = form.querySelector("[data-preview-problem]");

  function sync() {
    blocksInput.value = JSON.stringify(state.main.blocks);
    localesInput.value = JSON.stringify(state.locales);
  }

  function changed() {
    sync();
    status.textContent = "Updating…";
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  }

  function refresh() {
    sync();
    var body = new FormData(form);
    body.append("preview_locale", state.current || (mainLocale ? mainLocale.value : ""));
    var number = ++requestNumber;
    fetch(data.previewUrl, { method: "POST", body: body, credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.json(); })
      .then(function (result) {
        if (number !== requestNumber) return; // an older answer arriving late
        if (result.problem) {
          problem.hidden = false;
          problem.textContent = result.problem;
          status.textContent = "Not updated: fix the problem below.";
          return;
        }
        problem.hidden = true;
        frame.srcdoc = result.html;
        form.querySelector("[data-preview-subject]").textContent = result.subject;
        form.querySelector("[data-preview-text]").textContent = result.text;
        status.textContent = "Up to date.";
      })
      .catch(function () { status.textContent = "The preview could not be updated; check your connection."; });
  }

  function showWidth(button) {
    var phone = button.getAttribute("data-width") === "phone";
    stage.classList.toggle("is-phone", phone);
    form.querySelectorAll("[data-width]").forEach(function (other) {
      other.setAttribute("aria-pressed", String(other === button));
    });
  }
  form.querySelectorAll("[data-width]").forEach(function (button) {
    button.addEventListener("click", function () { showWidth(button); });
  });
  if (window.innerWidth < 700) showWidth(form.querySelector('[data-width="phone"]'));

  // Fields outside the blocks (subject, sender, coupon) change the mail too.
  form.addEventListener("input", function (event) {
    if (!list.contains(event.target) && !event.target.matches("[data-locale-input], [data-merge-field], .locale-add")) changed();
  });
  form.addEventListener("change", function (event) {
    if (event.target.name === "coupon" || event.target.name === "kind") changed();
  });
  form.addEventListener("submit", sync);

  var typeSelect = form.querySelector("[data-add-type]");
  Object.keys(data.blockTypes).forEach(function (type) {
    if (type !== "footer") typeSelect.appendChild(el("option", { value: type, text: data.blockTypes[type] }));
  });
  form.querySelector("[data-add-block]").addEventListener("click", addBlock);

  renderTabs();
  render();
})();
