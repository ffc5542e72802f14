// Small UI helpers shared by every page: toasts, formatting, form values and field errors.

export const STATUS_LABELS = {
  pending: "Pending", placed: "Placed", picked: "Picked", shipped: "Shipped",
  delivered: "Delivered", cancelled: "Cancelled", rejected: "Rejected",
};
export const ACTION_LABELS = {
  placed: "Place", picked: "Pick", shipped: "Ship", delivered: "Deliver", cancelled: "Cancel",
};

// The shop's currency (OMS_CURRENCY, on <body data-currency>), in the reader's own notation.
export const CURRENCY = (document.body && document.body.dataset.currency) || "EUR";
const money = new Intl.NumberFormat(undefined, {
  style: "currency", currency: CURRENCY, minimumFractionDigits: 2, maximumFractionDigits: 2,
});
// with seconds: steps a worker takes within the same minute still read apart
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

/** An amount (a decimal string or a number) in the shop's currency: the one money formatter. */
export function formatMoney(value) {
  const number = value === null || value === undefined || value === "" ? NaN : Number(value);
  return Number.isFinite(number) ? money.format(number) : "–";
}

/** Format the server-rendered amounts of a page (`<data data-money value="12.50">`) in place. */
export function formatMoneyIn(root = document) {
  for (const node of root.querySelectorAll("[data-money]")) node.textContent = formatMoney(node.getAttribute("value"));
}

/** Who made a history step or wrote a note: "Sam Staff (staff)", or "System" for the worker. */
export function formatActor(actor) {
  return actor ? `${actor.name} (${actor.role})` : "System";
}
export function formatDateTime(value) { return value ? dateTime.format(new Date(value)) : ""; }
export function formatDate(value) { return value ? dateOnly.format(new Date(value)) : ""; }
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}
export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "";
  const units = ["B", "KB", "MB", "GB"];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}
export function formatAddress(address) {
  if (!address) return "";
  return [address.name, address.line1, address.line2,
    [address.postal_code, address.city].filter(Boolean).join(" "), address.region, address.country]
    .filter(Boolean).join(", ");
}

/** Build an element: el("button", {class: "x", onclick: fn}, "text", child) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A toast that overlays the page (it never moves the layout) and goes away by itself. */
export function toast(message, kind = "info", { timeout = 5000 } = {}) {
  const region = document.getElementById("toasts");
  if (!region) return;
  const close = el("button", { type: "button", "aria-label": "Dismiss" }, "×");
  const item = el("div", { class: "toast", "data-kind": kind, role: kind === "error" ? "alert" : null },
    el("span", {}, message), close);
  close.addEventListener("click", () => item.remove());
  region.append(item);
  if (timeout) setTimeout(() => item.remove(), kind === "error" ? timeout * 2 : timeout);
}

export function toastError(error, fallback = "Something went wrong.") {
  let text = (error && error.message) || fallback;
  if (error && error.status === 409 && error.details && error.details.allowed) {
    text += " Refresh to see the current state.";
  }
  toast(text, "error");
}

/** Form values as an object; names with dots nest ("shipping_address.city"). Empty strings
 *  are left out, so optional fields are not sent. */
export function formValues(form) {
  const result = {};
  for (const field of form.elements) {
    if (!field.name || field.disabled || field.type === "submit" || field.type === "button") continue;
    let value;
    if (field.type === "checkbox") value = field.checked;
    else if (field.type === "radio") { if (!field.checked) continue; value = field.value; }
    else value = field.value.trim();
    if (value === "") continue;
    const path = field.name.split(".");
    let target = result;
    path.slice(0, -1).forEach((part) => { target = target[part] = target[part] || {}; });
    target[path[path.length - 1]] = value;
  }
  return result;
}

/** Remove every error message shown on a form. */
export function clearErrors(form) {
  form.querySelectorAll(".field-error[data-generated]").forEach((node) => {
    for (const field of form.querySelectorAll(`[aria-describedby~="${CSS.escape(node.id || "-")}"]`)) {
      const rest = field.getAttribute("aria-describedby").split(" ").filter((id) => id && id !== node.id);
      if (rest.length) field.setAttribute("aria-describedby", rest.join(" ")); else field.removeAttribute("aria-describedby");
    }
    node.remove();
  });
  form.querySelectorAll("[data-error-for]").forEach((node) => { node.textContent = ""; node.hidden = true; });
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  const summary = form.querySelector("[data-form-error]");
  if (summary) { summary.textContent = ""; summary.hidden = true; }
}

/** The server's details as {field path: message}. A detail is a list of messages (or a nested
 *  map of them); a plain value (e.g. `{"email": "a@b.c"}` on a 409) is the data the error is
 *  about, not a message, so that field gets the envelope's message. */
function flatten(details, fallback, prefix = "", out = {}) {
  for (const [key, value] of Object.entries(details || {})) {
    const name = key === "_schema" ? prefix : prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(value) && value.length && value.every((v) => typeof v === "string")) {
      out[name] = [out[name], ...value].filter(Boolean).join(" ");
    } else if (value && typeof value === "object" && !Array.isArray(value)) {
      flatten(value, fallback, name, out);
    } else if (fallback) {
      out[name] = fallback;
    }
  }
  return out;
}

/** "shipping_address.postal_code" -> "Postal code" (the field's own label when the form has it). */
export function fieldLabel(form, name) {
  const field = form && form.querySelector(`[name="${CSS.escape(name)}"]`);
  const label = field && (field.closest("label") || (field.id && form.querySelector(`label[for="${CSS.escape(field.id)}"]`)));
  if (label) {
    const text = [...label.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join(" ").trim();
    if (text) return text;
  }
  const last = name.split(".").filter((part) => !/^\d+$/.test(part)).pop() || name;
  const words = last.replace(/_/g, " ").trim();
  return words ? words[0].toUpperCase() + words.slice(1) : "This field";
}

/** Show one field's error with it (aria-invalid + a described-by message): inside the field's
 *  label, so it stays in the field's grid cell, or in the element the field names as its error
 *  slot (`data-error-slot`), or in a `[data-error-for]` slot. A second message for the same
 *  field replaces the first (never shown twice). A name with no field of its own lands on the
 *  fieldset that groups its siblings (e.g. "shipping_address.region"), saying which it is. */
export function fieldError(form, name, message) {
  const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
  if (slot) { slot.textContent = message; slot.hidden = false; return true; }
  let field = form.querySelector(`[name="${CSS.escape(name)}"]`);
  // "status.1" (the second value of a list) is the field "status"
  const base = name.replace(/(\.\d+)+$/, "");
  if (!field && base !== name) field = form.querySelector(`[name="${CSS.escape(base)}"]`);
  if (field && (field.type === "checkbox" || field.type === "radio") && field.closest("fieldset")
      && field.closest("fieldset").querySelectorAll(`[name="${CSS.escape(field.name)}"]`).length > 1) {
    // a group of choices: the message goes under the group's legend
    const group = field.closest("fieldset");
    group.setAttribute("aria-invalid", "true");
    const note = el("small", { class: "field-error", "data-generated": true }, message);
    const legend = group.querySelector("legend");
    if (legend) legend.after(note); else group.prepend(note);
    return true;
  }
  if (!field) {
    const dot = name.lastIndexOf(".");
    if (dot < 0) return false;
    const prefix = name.slice(0, dot);
    const sibling = form.querySelector(`[name^="${CSS.escape(prefix + ".")}"]`);
    const group = sibling && sibling.closest("fieldset");
    if (!group) return false;
    const words = `${fieldLabel(form, name)}: ${message}`;
    group.setAttribute("aria-invalid", "true");
    const legend = group.querySelector("legend");
    const note = el("small", { class: "field-error", "data-generated": true, role: "alert" }, words);
    if (legend) legend.after(note); else group.prepend(note);
    return true;
  }
  field.setAttribute("aria-invalid", "true");
  const own = field.dataset.errorSlot && document.getElementById(field.dataset.errorSlot);
  if (own) { own.textContent = message; return true; }
  const id = `${field.id || field.name.replace(/\W/g, "-")}-error`;
  let note = form.querySelector(`#${CSS.escape(id)}`);
  if (!note) {
    note = el("small", { class: "field-error", id, "data-generated": true });
    const label = field.closest("label");
    if (label) label.append(note); else field.after(note);
  }
  note.textContent = message;
  const described = new Set((field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
  described.add(id);
  field.setAttribute("aria-describedby", [...described].join(" "));
  return true;
}

/** Put the server's error details (or a client check's) on their fields, in words; what has
 *  no field goes to the form's summary with the field's name. `place(name, message)` may take
 *  names the form has no input for (e.g. "items.0.quantity" on the product selector).
 *  Returns true when something was shown. */
export function showErrors(form, error, { prefix = "", place } = {}) {
  const flat = flatten(error.details || {}, error.message, prefix);
  const unplaced = [];
  for (const [name, message] of Object.entries(flat)) {
    if (place && place(name, message)) continue;
    if (!name || !fieldError(form, name, message)) unplaced.push(name ? `${fieldLabel(form, name)}: ${message}` : message);
  }
  const summary = form.querySelector("[data-form-error]");
  const text = unplaced.length ? unplaced.join(" ") : (Object.keys(flat).length ? "Please correct the marked fields." : error.message);
  if (summary) { summary.textContent = text; summary.hidden = false; } else if (unplaced.length) toast(text, "error");
  const first = form.querySelector("[aria-invalid='true']:not(fieldset)");
  if (first) first.focus();
  return true;
}

/** What a field's failed constraint means, in words: the field's `title` says what is expected
 *  where a pattern does not match (the browser's "Please match the requested format." does not). */
export function validationText(field) {
  if (field.validity.patternMismatch && field.title) return field.title;
  if (field.validity.valueMissing) return field.tagName === "SELECT" ? "Choose one." : "Fill this in.";
  return field.validationMessage;
}

/** Run a browser-side check of the form's constraints; shows the messages, returns validity. */
export function checkForm(form) {
  clearErrors(form);
  let ok = true;
  for (const field of form.elements) {
    if (!field.name || field.disabled || !field.willValidate) continue;
    if (!field.checkValidity()) {
      ok = false;
      fieldError(form, field.name, validationText(field));
    }
  }
  if (!ok) {
    const first = form.querySelector("[aria-invalid='true']:not(fieldset)");
    if (first) first.focus();
  }
  return ok;
}

/** A decimal typed with a comma ("12,50") as the API's "12.50". */
export function decimalText(value) {
  return typeof value === "string" ? value.trim().replace(",", ".") : value;
}

/** Disable a button while a promise runs (aria-busy shows Pico's spinner). */
export async function busy(button, work) {
  if (!button) return work();
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try { return await work(); } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** Read JSON embedded by the page_data macro. */
export function pageData(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

/** A short random key (for Idempotency-Key); works outside secure contexts too. */
export function randomKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Open a <dialog> and resolve with the submitted form's values, or null when dismissed. */
export function openDialog(dialog, { onSubmit, focus } = {}) {
  const form = dialog.querySelector("form");
  return new Promise((resolve) => {
    const cancel = () => { cleanup(); dialog.close(); resolve(null); };
    const submit = async (event) => {
      event.preventDefault();
      if (!checkForm(form)) return;
      const values = formValues(form);
      if (onSubmit) {
        const button = form.querySelector("[type=submit]");
        try {
          await busy(button, () => onSubmit(values, form));
        } catch (error) {
          if (error && error.details && Object.keys(error.details).length) showErrors(form, error);
          else {
            const summary = form.querySelector("[data-form-error]");
            if (summary) { summary.textContent = error.message; summary.hidden = false; } else toastError(error);
          }
          return;
        }
      }
      cleanup(); dialog.close(); resolve(values);
    };
    const cleanup = () => {
      form.removeEventListener("submit", submit);
      dialog.querySelectorAll("[data-close]").forEach((b) => b.removeEventListener("click", cancel));
      dialog.removeEventListener("cancel", onEscape);
    };
    const onEscape = (event) => { event.preventDefault(); cancel(); };
    clearErrors(form);
    form.addEventListener("submit", submit);
    dialog.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", cancel));
    dialog.addEventListener("cancel", onEscape);
    dialog.showModal();
    const first = focus || form.querySelector("input:not([type=hidden]), select, textarea") || form.querySelector("[type=submit]");
    if (first) first.focus();
  });
}

/** Fill a form's fields from an object (nested keys with dots). */
export function fillForm(form, values) {
  for (const field of form.elements) {
    if (!field.name) continue;
    const value = field.name.split(".").reduce((obj, key) => (obj == null ? undefined : obj[key]), values);
    if (field.type === "checkbox") field.checked = Boolean(value);
    else field.value = value === undefined || value === null ? "" : value;
  }
}

/** Ask for a confirmation in the page's one confirm dialog (the `dialog` component); resolves
 *  true when confirmed. Replaces the browser's confirm(), which cannot be styled or labelled. */
export async function confirmDialog({ title, message, confirm = "Confirm", cancel = "Cancel", danger = false }) {
  const dialog = document.getElementById("confirm-dialog");
  dialog.querySelector("[data-slot=title]").textContent = title;
  dialog.querySelector("[data-slot=message]").textContent = message || "";
  const submit = dialog.querySelector("[data-slot=submit]");
  submit.textContent = confirm;
  submit.classList.toggle("danger", danger);
  dialog.querySelector("[data-slot=close]").textContent = cancel;
  const values = await openDialog(dialog, { focus: submit });
  return values !== null;
}
