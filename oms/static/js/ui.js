// Small UI helpers shared by every page: toasts, formatting, form values and field errors.

export const STATUS_LABELS = {
  pending: "Pending", placed: "Placed", picked: "Picked", shipped: "Shipped",
  delivered: "Delivered", cancelled: "Cancelled", rejected: "Rejected",
};
export const ACTION_LABELS = {
  placed: "Place", picked: "Pick", shipped: "Ship", delivered: "Deliver", cancelled: "Cancel",
};

const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

export function formatMoney(value) {
  const number = Number(value);
  return Number.isFinite(number) ? money.format(number) : "–";
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
  form.querySelectorAll(".field-error[data-generated]").forEach((node) => node.remove());
  form.querySelectorAll("[data-error-for]").forEach((node) => { node.textContent = ""; node.hidden = true; });
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  const summary = form.querySelector("[data-form-error]");
  if (summary) { summary.textContent = ""; summary.hidden = true; }
}

function flatten(details, prefix = "", out = {}) {
  for (const [key, value] of Object.entries(details || {})) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) out[name] = value.join(" ");
    else if (value && typeof value === "object" && !Array.isArray(value)) flatten(value, name, out);
    else out[name] = String(value);
  }
  return out;
}

/** Show one field's error under it (aria-invalid + a described-by message). */
export function fieldError(form, name, message) {
  const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
  if (slot) { slot.textContent = message; slot.hidden = false; return true; }
  const field = form.querySelector(`[name="${CSS.escape(name)}"]`);
  if (!field) return false;
  field.setAttribute("aria-invalid", "true");
  const id = `${field.id || field.name.replace(/\W/g, "-")}-error`;
  const note = el("small", { class: "field-error", id, "data-generated": true }, message);
  field.setAttribute("aria-describedby", id);
  (field.closest("label") || field).after(note);
  return true;
}

/** Put the server's 422 details (or a client check's) on the fields; the rest in the summary.
 *  Returns true when something was shown. */
export function showErrors(form, error, { prefix = "" } = {}) {
  const flat = flatten(error.details || {}, prefix);
  const unplaced = [];
  for (const [name, message] of Object.entries(flat)) {
    if (!fieldError(form, name, message)) unplaced.push(message);
  }
  const summary = form.querySelector("[data-form-error]");
  const text = unplaced.length ? unplaced.join(" ") : (Object.keys(flat).length ? "Please correct the marked fields." : error.message);
  if (summary) { summary.textContent = text; summary.hidden = false; }
  const first = form.querySelector("[aria-invalid='true']");
  if (first) first.focus();
  return true;
}

/** Run a browser-side check of the form's constraints; shows the messages, returns validity. */
export function checkForm(form) {
  clearErrors(form);
  let ok = true;
  for (const field of form.elements) {
    if (!field.name || field.disabled || !field.willValidate) continue;
    if (!field.checkValidity()) {
      ok = false;
      fieldError(form, field.name, field.validationMessage);
    }
  }
  if (!ok) {
    const first = form.querySelector("[aria-invalid='true']");
    if (first) first.focus();
  }
  return ok;
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
export function openDialog(dialog, { onSubmit } = {}) {
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
          if (error && error.status === 422) showErrors(form, error);
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
    const first = form.querySelector("input:not([type=hidden]), select, textarea");
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
