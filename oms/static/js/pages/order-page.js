// One order, for its customer (/customer/orders/<id>) or for staff (/staff/orders/<id>): the
// status timeline, items, history and the allowed actions, kept live without a reload.
import { api } from "../api.js";
import { actionButtons, renderTimeline, updateBadge } from "../components.js";
import { live } from "../realtime.js";
import { reorderButton } from "../reorder.js";
import {
  STATUS_LABELS, busy, checkForm, clearErrors, el, formValues, formatActor, formatAddress,
  formatDateTime, formatMoney, openDialog, pageData, showErrors, toast, toastError,
} from "../ui.js";

let order = pageData("order-data");
const view = document.getElementById("order-view");
const $ = (role) => document.querySelector(`[data-role="${role}"]`);
const isStaff = ["staff", "admin"].includes(document.body.dataset.role);

function render() {
  updateBadge(document.querySelector("[data-testid=order-status]"), order.status);
  view.dataset.status = order.status;
  renderTimeline($("timeline"), order);
  $("items").replaceChildren(...order.items.map((item) => el("tr", {},
    el("td", {}, item.product_name),
    el("td", { class: "num" }, item.quantity),
    el("td", { class: "num" }, formatMoney(item.unit_price)),
    el("td", { class: "num" }, formatMoney(item.total_price)))));
  $("total").textContent = formatMoney(order.total_amount);
  $("address").textContent = formatAddress(order.shipping_address);
  $("created").textContent = formatDateTime(order.created_at);
  const actions = actionButtons(order, act);
  // a customer orders the same items again in one click
  if (!isStaff && order.status !== "pending") actions.push(reorderButton(order));
  $("actions").replaceChildren(...(actions.length ? actions : [el("span", { class: "muted" },
    ["delivered", "cancelled", "rejected"].includes(order.status) ? "This order is closed." : "")]));
  renderShipment();
  const history = $("history");
  if (history) {
    // status steps and internal notes (staff only) on one timeline, oldest first
    const steps = order.history.map((entry) => ({ at: entry.created_at, row: el("tr", { "data-kind": "status" },
      el("td", { class: "nowrap" }, formatDateTime(entry.created_at)),
      el("td", {}, entry.old_status ? `${STATUS_LABELS[entry.old_status]} → ` : "", STATUS_LABELS[entry.new_status]),
      el("td", {}, formatActor(entry.changed_by)),
      el("td", {}, entry.notes || "")) }));
    const notes = (order.notes || []).map((note) => ({ at: note.created_at, row: el("tr", { "data-kind": "note" },
      el("td", { class: "nowrap" }, formatDateTime(note.created_at)),
      el("td", {}, el("span", { class: "note-tag" }, "Internal note")),
      el("td", {}, formatActor(note.author)),
      el("td", { class: "note-body" }, note.body)) }));
    history.replaceChildren(...[...steps, ...notes]
      .sort((a, b) => new Date(a.at) - new Date(b.at)).map((item) => item.row));
  }
  const payment = document.getElementById("payment-collected");
  if (payment) payment.checked = Boolean(order.payment_collected);
}

/** The carrier, tracking number and its link, once the order has shipped. */
function renderShipment() {
  const panel = $("shipment-panel");
  if (!panel) return;
  const shipped = ["shipped", "delivered"].includes(order.status);
  panel.hidden = !shipped;
  if (!shipped) return;
  const box = $("shipment");
  if (!order.carrier && !order.tracking_number) {
    box.replaceChildren(el("p", { class: "muted" }, "Shipped without a carrier or tracking number."));
    return;
  }
  const number = order.tracking_url
    ? el("a", { href: order.tracking_url, target: "_blank", rel: "noopener noreferrer", "data-testid": "tracking-link" },
      order.tracking_number, el("span", { class: "visually-hidden" }, " (opens the carrier's tracking page)"))
    : (order.tracking_number || "–");
  box.replaceChildren(el("dl", { class: "facts" },
    el("dt", {}, "Carrier"), el("dd", { "data-testid": "carrier" }, order.carrier_name || "–"),
    el("dt", {}, "Tracking number"), el("dd", {}, number)));
}

/** Ship from the order page: the dialog asks for the carrier and tracking number. */
async function ship(current, button) {
  const dialog = document.getElementById("ship-dialog");
  await openDialog(dialog, {
    onSubmit: async (values) => {
      order = await api.patch(`/api/v1/orders/${current.id}/status`, { status: "shipped", ...values });
      render();
      toast(`Order ${order.number}: ${STATUS_LABELS[order.status]}.`, "success");
    },
  });
  button.focus();
}

async function act(current, status, button) {
  let notes;
  if (status === "shipped" && document.getElementById("ship-dialog")) {
    await ship(current, button);
    return;
  }
  if (status === "cancelled") {
    const values = await openDialog(document.getElementById("cancel-dialog"));
    if (!values) return;
    notes = values.notes;
  }
  await busy(button, async () => {
    try {
      order = await api.patch(`/api/v1/orders/${current.id}/status`, notes ? { status, notes } : { status });
      render();
      toast(`Order ${order.number}: ${STATUS_LABELS[order.status]}.`, "success");
    } catch (error) {
      toastError(error);
      await reload();
    }
  });
}

async function reload() {
  try {
    order = await api.get(`/api/v1/orders/${order.id}`);
    render();
  } catch (error) {
    toastError(error, "Could not refresh the order.");
  }
}

const noteForm = document.getElementById("note-form");
if (noteForm) {
  noteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(noteForm);
    if (!checkForm(noteForm)) return;
    await busy(noteForm.querySelector("[type=submit]"), async () => {
      try {
        await api.post(`/api/v1/orders/${order.id}/notes`, formValues(noteForm));
        noteForm.reset();
        toast("Note added.", "success");
        await reload();
      } catch (error) {
        if (error.status === 422) showErrors(noteForm, error); else toastError(error);
      }
    });
  });
}

const payment = document.getElementById("payment-collected");
if (payment) {
  payment.addEventListener("change", async () => {
    try {
      order = await api.put(`/api/v1/orders/${order.id}`, { payment_collected: payment.checked });
      render();
      toast(payment.checked ? "Payment marked as collected." : "Payment marked as not collected.", "success");
    } catch (error) {
      payment.checked = !payment.checked;
      toastError(error);
    }
  });
}

if (isStaff && order.customer_id) {
  const box = $("customer");
  if (box) {
    api.get(`/api/v1/customers/${order.customer_id}`).then((customer) => {
      box.replaceChildren(
        el("dt", {}, "Name"), el("dd", {}, `${customer.first_name} ${customer.last_name}`),
        el("dt", {}, "Email"), el("dd", {}, el("a", { href: `mailto:${customer.email}` }, customer.email)),
        el("dt", {}, "Phone"), el("dd", {}, customer.phone || "–"),
        el("dt", {}, "Address"), el("dd", {}, formatAddress(customer.address) || "–"),
        el("dt", {}, "Orders"), el("dd", {}, el("a", { href: `/staff?status=all&customer_id=${customer.id}` }, "All orders of this customer")));
    }).catch(() => box.replaceChildren(el("dd", {}, order.customer ? order.customer.email : "")));
  }
}

render();

live({ onResync: reload })
  .on("order.status_changed", (event) => {
    if (event.order_id !== order.id) return;
    reload().then(() => {
      if (event.actor !== document.body.dataset.userId) {
        toast(`Order ${order.number} is now ${STATUS_LABELS[event.new_status].toLowerCase()}.`);
      }
    });
  })
  .on("order.updated", (event) => { if (event.order_id === order.id) reload(); })
  .start();
