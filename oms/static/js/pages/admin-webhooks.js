// Webhook endpoints for admins (through /api/v1/webhooks): register, change, switch on and off,
// rotate the secret (shown once), delete; the delivery log of one endpoint, with resend. An
// endpoint disabled after failing for a day is announced live (webhook.endpoint_disabled).
import { api } from "../api.js";
import { busy, confirmDialog, el, fillForm, formatDateTime, openDialog, toast, toastError } from "../ui.js";
import { live } from "../realtime.js";

const body = document.getElementById("endpoints");
const dialog = document.getElementById("endpoint-dialog");
const secretDialog = document.getElementById("secret-dialog");
const section = document.getElementById("deliveries-section");
const deliveries = document.getElementById("deliveries");
const moreDeliveries = document.getElementById("more-deliveries");
const STATES = {
  active: "Active",
  failing: "Failing",
  disabled: "Disabled",
  inactive: "Switched off",
};
let shown = null; // the endpoint whose deliveries are listed
let nextCursor = null;

function stateText(endpoint) {
  if (endpoint.state === "failing") return `Failing since ${formatDateTime(endpoint.failing_since)}`;
  if (endpoint.state === "disabled") return `Disabled: ${endpoint.disabled_reason || "kept failing"}`;
  return STATES[endpoint.state] || endpoint.state;
}

function button(label, name, onclick, extra = {}) {
  return el("button", { type: "button", class: "secondary outline", "aria-label": `${label} ${name}`, onclick, ...extra }, label);
}

function row(endpoint) {
  const name = endpoint.description || endpoint.url;
  return el("tr", { "data-endpoint-id": endpoint.id, "data-state": endpoint.state },
    el("td", {}, el("div", {}, endpoint.url), endpoint.description ? el("div", { class: "muted" }, endpoint.description) : null),
    el("td", {}, endpoint.event_types.join(", ")),
    el("td", { "data-cell": "state" }, stateText(endpoint)),
    el("td", {}, el("div", { class: "actions" },
      button("Deliveries", name, () => showDeliveries(endpoint)),
      button("Edit", name, () => edit(endpoint)),
      button(endpoint.active ? "Switch off" : "Switch on", name, (e) => toggle(endpoint, e.currentTarget)),
      button("Rotate secret", name, (e) => rotate(endpoint, e.currentTarget)),
      button("Delete", name, (e) => remove(endpoint, e.currentTarget)))));
}

async function load() {
  try {
    const page = await api.get("/api/v1/webhooks", { limit: 200 });
    body.replaceChildren(...page.items.map(row));
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 4, class: "empty" }, "No endpoints yet.")));
  } catch (error) { toastError(error); }
}

function showSecret(endpoint) {
  fillForm(secretDialog.querySelector("form"), { secret: endpoint.secret });
  return openDialog(secretDialog, { focus: secretDialog.querySelector("#secret-value") });
}

function endpointForm(endpoint) {
  const form = dialog.querySelector("form");
  fillForm(form, { url: endpoint?.url, description: endpoint?.description, active: endpoint ? endpoint.active : true });
  for (const box of form.querySelectorAll("[name=event_types]")) box.checked = Boolean(endpoint?.event_types.includes(box.value));
  dialog.querySelector("[data-slot=title]").textContent = endpoint ? "Edit endpoint" : "New endpoint";
  return form;
}

function bodyOf(values, form) {
  const eventTypes = [...form.querySelectorAll("[name=event_types]:checked")].map((box) => box.value);
  return { url: values.url || "", description: values.description || null, active: values.active, event_types: eventTypes };
}

async function create() {
  endpointForm(null);
  let created = null;
  await openDialog(dialog, {
    onSubmit: async (values, form) => { created = await api.post("/api/v1/webhooks", bodyOf(values, form)); },
  });
  if (!created) return;
  toast(`Endpoint ${created.url} registered.`, "success");
  load();
  await showSecret(created);
}

async function edit(endpoint) {
  endpointForm(endpoint);
  await openDialog(dialog, {
    onSubmit: async (values, form) => {
      await api.patch(`/api/v1/webhooks/${endpoint.id}`, bodyOf(values, form));
      toast("Endpoint saved.", "success");
      load();
    },
  });
}

async function toggle(endpoint, target) {
  await busy(target, async () => {
    try {
      await api.patch(`/api/v1/webhooks/${endpoint.id}`, { active: !endpoint.active });
      toast(`${endpoint.url} switched ${endpoint.active ? "off" : "on"}.`, "success");
      load();
    } catch (error) { toastError(error); }
  });
}

async function rotate(endpoint, target) {
  if (!(await confirmDialog({
    title: "Rotate the secret?",
    message: `Deliveries to ${endpoint.url} are signed with the new secret at once; the receiver must be given it.`,
    confirm: "Rotate secret",
  }))) return;
  let rotated = null;
  await busy(target, async () => {
    try { rotated = await api.post(`/api/v1/webhooks/${endpoint.id}/rotate-secret`); } catch (error) { toastError(error); }
  });
  if (rotated) await showSecret(rotated);
}

async function remove(endpoint, target) {
  if (!(await confirmDialog({
    title: "Delete the endpoint?",
    message: `${endpoint.url} gets no more events, and its delivery log is deleted.`,
    confirm: "Delete", danger: true,
  }))) return;
  await busy(target, async () => {
    try {
      await api.del(`/api/v1/webhooks/${endpoint.id}`);
      toast("Endpoint deleted.", "success");
      if (shown?.id === endpoint.id) section.hidden = true;
      load();
    } catch (error) { toastError(error); }
  });
}

function deliveryRow(delivery) {
  const last = delivery.attempt_log[delivery.attempt_log.length - 1];
  const answer = last
    ? [last.status_code ?? "no answer", last.duration_ms != null ? `${last.duration_ms} ms` : null, last.error || last.response_excerpt].filter(Boolean).join(" · ")
    : "not sent yet";
  return el("tr", { "data-delivery-id": delivery.id },
    el("td", {}, el("code", {}, delivery.event_type), el("div", { class: "muted" }, delivery.event_id)),
    el("td", { "data-cell": "state" }, delivery.state),
    el("td", {}, String(delivery.attempts)),
    el("td", {}, answer),
    el("td", { class: "hide-sm" }, formatDateTime(delivery.created_at)),
    el("td", {}, button("Resend", `delivery ${delivery.id}`, (e) => resend(delivery, e.currentTarget))));
}

async function loadDeliveries({ append = false } = {}) {
  try {
    const page = await api.get(`/api/v1/webhooks/${shown.id}/deliveries`, { limit: 50, cursor: append ? nextCursor : null });
    const rows = page.items.map(deliveryRow);
    if (append) deliveries.append(...rows); else deliveries.replaceChildren(...rows);
    if (!deliveries.children.length) deliveries.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, "No deliveries yet.")));
    nextCursor = page.next_cursor;
    moreDeliveries.hidden = !nextCursor;
  } catch (error) { toastError(error); }
}

function showDeliveries(endpoint) {
  shown = endpoint;
  document.getElementById("deliveries-title").textContent = `Deliveries to ${endpoint.url}`;
  section.hidden = false;
  loadDeliveries();
}

async function resend(delivery, target) {
  await busy(target, async () => {
    try {
      await api.post(`/api/v1/webhooks/${shown.id}/deliveries/${delivery.id}/resend`);
      toast(`${delivery.event_type} sent again.`, "success");
      loadDeliveries();
    } catch (error) { toastError(error); }
  });
}

document.getElementById("new-endpoint").addEventListener("click", create);
moreDeliveries.addEventListener("click", () => busy(moreDeliveries, () => loadDeliveries({ append: true })));
live({ onResync: ({ first }) => { if (!first) load(); } })
  .on("webhook.endpoint_disabled", (event) => {
    toast(`Webhook ${event.url} was disabled: ${event.reason}`, "error", { timeout: 0 });
    load();
  })
  .start();
load();
