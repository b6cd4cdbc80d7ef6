// The sheet's answer form, made better with a script (it works without one: "Add a row" is then a
// submit button that draws the form again).  With the script: rows are added and removed in place,
// and the answers are kept in this browser (localStorage) as a draft until they are submitted.
"use strict";

(function () {
  const form = document.getElementById("answers");
  if (!form) return;
  const draftKey = form.dataset.draftKey;
  const note = document.getElementById("draft-note");

  // -- rows ---------------------------------------------------------------------------------------
  function tableOf(fieldset) { return fieldset.querySelector(":scope > .table-box > table > tbody"); }

  function renumber(fieldset) {
    const key = fieldset.dataset.table;
    const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const pattern = new RegExp("^(" + escaped + ")\\.\\d+\\.");
    tableOf(fieldset).querySelectorAll(":scope > tr").forEach(function (tr, i) {
      tr.dataset.row = String(i);
      const num = tr.querySelector(":scope > th.rownum");
      if (num) num.textContent = String(i + 1);
      tr.querySelectorAll("[name]").forEach(function (el) {
        el.name = el.name.replace(pattern, "$1." + i + ".");
        el.id = "f-" + el.name.replace(/\./g, "-");
        const label = el.getAttribute("aria-label");
        if (label) el.setAttribute("aria-label", label.replace(/ row \d+:/, " row " + (i + 1) + ":"));
      });
      const remove = tr.querySelector(":scope > td.remove > .remove-row");
      if (remove) remove.textContent = "Remove row " + (i + 1);
    });
  }

  function addRow(fieldset) {
    const body = tableOf(fieldset);
    const last = body.querySelector(":scope > tr:last-child");
    if (!last) return null;
    const copy = last.cloneNode(true);
    copy.querySelectorAll("input, textarea, select").forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") el.checked = false;
      else if (el.tagName === "SELECT") el.selectedIndex = 0;
      else el.value = "";
    });
    body.appendChild(copy);
    renumber(fieldset);
    wireRemove(copy, fieldset);
    return copy;
  }

  function wireRemove(tr, fieldset) {
    const button = tr.querySelector(":scope > td.remove > .remove-row");
    if (!button) return;
    button.hidden = false;
    button.onclick = function () {
      const body = tableOf(fieldset);
      if (body.children.length > 1) tr.remove();
      else tr.querySelectorAll("input, textarea").forEach(function (el) { el.value = ""; });
      renumber(fieldset);
      save();
    };
  }

  form.querySelectorAll("fieldset.answer-table").forEach(function (fieldset) {
    tableOf(fieldset).querySelectorAll(":scope > tr").forEach(function (tr) { wireRemove(tr, fieldset); });
    const add = fieldset.querySelector(":scope > .table-actions > .add-row");
    if (add) add.addEventListener("click", function (event) {
      event.preventDefault();
      const row = addRow(fieldset);
      if (row) { const first = row.querySelector("input, textarea, select"); if (first) first.focus(); }
      save();
    });
  });

  // -- the draft ----------------------------------------------------------------------------------
  function snapshot() {
    const values = {};
    form.querySelectorAll("[name^='a.']").forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") {
        if (!el.checked) return;
        (values[el.name] = values[el.name] || []).push(el.value);
      } else if (el.value !== "") {
        values[el.name] = el.value;
      }
    });
    const rows = {};
    form.querySelectorAll("fieldset.answer-table").forEach(function (fieldset) {
      rows[fieldset.dataset.table] = tableOf(fieldset).children.length;
    });
    return { saved: new Date().toISOString(), values: values, rows: rows };
  }

  function save() {
    try { localStorage.setItem(draftKey, JSON.stringify(snapshot())); } catch (e) { /* storage full or off */ }
  }

  function restore(draft) {
    form.querySelectorAll("fieldset.answer-table").forEach(function (fieldset) {
      const wanted = Math.min((draft.rows || {})[fieldset.dataset.table] || 0, 60);
      while (tableOf(fieldset).children.length < wanted) { if (!addRow(fieldset)) break; }
    });
    Object.keys(draft.values || {}).forEach(function (name) {
      const value = draft.values[name];
      form.querySelectorAll("[name='" + name.replace(/'/g, "\\'") + "']").forEach(function (el) {
        if (el.type === "checkbox" || el.type === "radio") el.checked = [].concat(value).indexOf(el.value) >= 0;
        else el.value = value;
      });
    });
  }

  function discard() {
    try { localStorage.removeItem(draftKey); } catch (e) { /* nothing kept */ }
  }

  let draft = null;
  try { draft = JSON.parse(localStorage.getItem(draftKey) || "null"); } catch (e) { draft = null; }
  if (draft && form.dataset.prefilled !== "1") {
    restore(draft);
    if (note) {
      note.hidden = false;
      note.textContent = "Your draft from " + new Date(draft.saved).toLocaleString() + " is back. ";
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Discard the draft";
      button.onclick = function () { discard(); window.location.reload(); };
      note.appendChild(button);
    }
  }
  form.addEventListener("input", save);
  form.addEventListener("change", save);
  form.addEventListener("submit", function (event) {
    const submitter = event.submitter;
    if (!submitter || submitter.name !== "add_row") discard();
  });
})();
