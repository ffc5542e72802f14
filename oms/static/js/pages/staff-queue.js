// The staff order queue: filter by status (deep-linkable: ?status=placed), search, one-click
// actions for the allowed next statuses only, and live updates (new orders appear, statuses
// change) without a reload.
import { api } from "../api.js";
import { actionButtons, fillOrderCard, orderCard } from "../components.js";
import { live } from "../realtime.js";
import { STATUS_LABELS, busy, el, openDialog, toast, toastError } from "../ui.js";

const OPEN = ["pending", "placed", "picked"];
const params = new URLSearchParams(location.search);
const filter = params.get("status") || "open";
const q = params.get("q") || "";
const customerId = params.get("customer_id") || "";
const statuses = filter === "open" ? OPEN : filter === "all" ? [] : [filter];

const list = document.getElementById("queue");
const more = document.getElementById("more");
const summary = document.getElementById("queue-summary");
const search = document.getElementById("queue-search");
let nextCursor = null;

for (const link of document.querySelectorAll("#status-filter a")) {
  const next = new URLSearchParams(location.search);
  next.set("status", link.dataset.status);
  next.delete("cursor");
  link.href = `?${next}`;
  if (link.dataset.status === filter) link.setAttribute("aria-current", "true");
}
search.elements.q.value = q;
search.addEventListener("submit", (event) => {
  event.preventDefault();
  const next = new URLSearchParams(location.search);
  const value = search.elements.q.value.trim();
  if (value) next.set("q", value); else next.delete("q");
  location.search = next.toString();
});

const matches = (order) =>
  (!statuses.length || statuses.includes(order.status)) && (!customerId || order.customer_id === customerId);

function actions(order) {
  return [...actionButtons(order, act), el("a", { href: `/staff/orders/${order.id}`, "aria-label": `Details of order ${order.number}` }, "Details")];
}

function paint(card, order) {
  fillOrderCard(card, order, { actions });
  const stale = !matches(order);
  card.classList.toggle("is-stale", stale);
  card.querySelector("[data-slot=note]").textContent = stale ? ` · now ${STATUS_LABELS[order.status].toLowerCase()}, leaves this view on refresh` : "";
}

function upsert(order, { isNew = false } = {}) {
  let card = list.querySelector(`[data-order-id="${order.id}"]`);
  if (card) { paint(card, order); return; }
  if (!matches(order) || q) return; // a search result set is not extended live
  list.querySelector(".empty")?.remove();
  card = orderCard(order, { actions });
  paint(card, order);
  if (isNew) card.classList.add("is-new");
  list.prepend(card);
  count();
}

function count() {
  const n = list.querySelectorAll(".order-card").length;
  const what = filter === "open" ? "open orders" : filter === "all" ? "orders" : `${STATUS_LABELS[filter].toLowerCase()} orders`;
  summary.textContent = `${n}${nextCursor ? "+" : ""} ${what}${q ? ` matching “${q}”` : ""}${customerId ? " of one customer" : ""}`;
}

async function act(order, status, button) {
  let notes;
  if (status === "cancelled") {
    const dialog = document.getElementById("cancel-dialog");
    dialog.querySelector("[data-role=number]").textContent = order.number;
    const values = await openDialog(dialog);
    if (!values) return;
    notes = values.notes;
  }
  await busy(button, async () => {
    try {
      const updated = await api.patch(`/api/v1/orders/${order.id}/status`, notes ? { status, notes } : { status });
      upsert(updated);
      toast(`Order ${updated.number}: ${STATUS_LABELS[updated.status]}.`, "success");
    } catch (error) {
      toastError(error);
      refreshOrder(order.id);
    }
  });
}

async function load({ append = false } = {}) {
  try {
    const page = await api.get("/api/v1/orders", {
      status: statuses, q, customer_id: customerId, limit: 25, cursor: append ? nextCursor : null,
    });
    // Cards already shown are updated in place (a refetch never swaps the button under a
    // pointer); the list is only reordered when its order changed.
    const cards = page.items.map((order) => {
      const card = list.querySelector(`[data-order-id="${order.id}"]`) || orderCard(order, { actions });
      paint(card, order);
      return card;
    });
    if (append) list.append(...cards);
    else {
      const shown = [...list.querySelectorAll(".order-card")];
      const same = shown.length === cards.length && shown.every((card, i) => card === cards[i]);
      if (!same) list.replaceChildren(...cards);
    }
    nextCursor = page.next_cursor;
    more.hidden = !nextCursor;
    if (!list.children.length) list.append(el("p", { class: "empty" }, "Nothing here right now. New orders appear by themselves."));
    count();
  } catch (error) {
    toastError(error, "Could not load the orders.");
  } finally {
    list.removeAttribute("aria-busy");
  }
}
more.addEventListener("click", () => busy(more, () => load({ append: true })));

async function refreshOrder(orderId, options) {
  try {
    upsert(await api.get(`/api/v1/orders/${orderId}`), options);
  } catch (error) { /* deleted meanwhile */ }
}

load();
live({ onResync: () => load() })
  .on("order.created", (event) => refreshOrder(event.order_id, { isNew: true }))
  .on("order.status_changed", (event) => refreshOrder(event.order_id, { isNew: true }))
  .on("order.updated", (event) => {
    if (list.querySelector(`[data-order-id="${event.order_id}"]`)) refreshOrder(event.order_id);
  })
  .start();
