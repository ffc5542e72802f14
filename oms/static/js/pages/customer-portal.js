// The customer portal: the order form (product picker with live availability, running total,
// address, checks in the browser backed by the server's), my orders (live), lookup by number.
import { IdempotentSubmission, api, getAll } from "../api.js";
import { ProductSelector, actionButtons, fillOrderCard, orderCard } from "../components.js";
import { live } from "../realtime.js";
import { reorderButton } from "../reorder.js";
import {
  STATUS_LABELS, busy, checkForm, clearErrors, el, formValues, openDialog, showErrors, toast, toastError,
} from "../ui.js";

const form = document.getElementById("order-form");
const list = document.getElementById("my-orders");
const more = document.getElementById("more-orders");
const selector = new ProductSelector(document.getElementById("products"));
// one Idempotency-Key across retries until the server answers definitely: never two orders
const submission = new IdempotentSubmission("/api/v1/orders");
let nextCursor = null;

async function loadProducts() {
  try {
    selector.setProducts(await getAll("/api/v1/products"));
  } catch (error) {
    toastError(error, "Could not load the products.");
  }
}

// ---- the order form ----
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const fieldsOk = checkForm(form);
  const itemsOk = selector.validate();
  if (!fieldsOk || !itemsOk) return;
  const values = formValues(form);
  const body = { items: selector.items(), shipping_address: values.shipping_address };
  if (body.shipping_address && body.shipping_address.country) {
    body.shipping_address.country = body.shipping_address.country.toUpperCase();
  }
  await busy(form.querySelector("[type=submit]"), async () => {
    try {
      const order = await submission.send(body);
      toast(`Order ${order.number} received. We are reserving your items.`, "success");
      location.assign(`/customer/orders/${order.id}`);
    } catch (error) {
      if (error.code === "insufficient_stock") {
        selector.showShortages(error.details.shortages);
        showErrors(form, { details: {}, message: error.message });
      } else if (error.status === 422) {
        const items = error.details && error.details.items;
        // the catalogue first (a product may be gone), then each message on its line
        if (items) await loadProducts();
        showErrors(form, error, { place: (name, message) => selector.placeError(name, message) });
      } else {
        toastError(error);
      }
    }
  });
});

// ---- my orders ----
function card(order) {
  return orderCard(order, {
    actions: (o) => [
      ...actionButtons(o, cancel, { only: ["cancelled"] }),
      ...(o.status === "pending" ? [] : [reorderButton(o)]),
      el("a", { href: `/customer/orders/${o.id}`, "aria-label": `Follow order ${o.number}` }, "Follow"),
    ],
  });
}

async function cancel(order, status, button) {
  const dialog = document.getElementById("cancel-dialog");
  dialog.querySelector("[data-role=number]").textContent = order.number;
  const values = await openDialog(dialog);
  if (!values) return;
  await busy(button, async () => {
    try {
      const body = values.notes ? { status, notes: values.notes } : { status };
      const updated = await api.patch(`/api/v1/orders/${order.id}/status`, body);
      replace(updated);
      toast(`Order ${updated.number} cancelled.`, "success");
    } catch (error) {
      toastError(error);
    }
  });
}

function replace(order) {
  const existing = list.querySelector(`[data-order-id="${order.id}"]`);
  if (existing) fillOrderCard(existing, order, {
    actions: (o) => [
      ...actionButtons(o, cancel, { only: ["cancelled"] }),
      ...(o.status === "pending" ? [] : [reorderButton(o)]),
      el("a", { href: `/customer/orders/${o.id}`, "aria-label": `Follow order ${o.number}` }, "Follow"),
    ],
  });
  else {
    list.querySelector(".empty")?.remove();
    const node = card(order);
    node.classList.add("is-new");
    list.prepend(node);
  }
}

async function loadOrders({ append = false } = {}) {
  try {
    const page = await api.get("/api/v1/orders", { limit: 10, cursor: append ? nextCursor : null });
    const cards = page.items.map(card);
    if (append) list.append(...cards);
    else list.replaceChildren(...cards);
    if (!list.children.length) list.append(el("p", { class: "empty" }, "No orders yet. Your first one is a form away."));
    nextCursor = page.next_cursor;
    more.hidden = !nextCursor;
  } catch (error) {
    toastError(error, "Could not load your orders.");
  } finally {
    list.removeAttribute("aria-busy");
  }
}
more.addEventListener("click", () => busy(more, () => loadOrders({ append: true })));

async function refreshOrder(orderId) {
  try {
    replace(await api.get(`/api/v1/orders/${orderId}`));
  } catch (error) { /* gone or not ours: nothing to show */ }
}

// ---- lookup by number ----
const lookup = document.getElementById("lookup-form");
lookup.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!checkForm(lookup)) return;
  const number = lookup.elements.number.value.trim().toUpperCase();
  await busy(lookup.querySelector("button"), async () => {
    try {
      const page = await api.get("/api/v1/orders", { q: number, limit: 1 });
      const found = page.items.find((o) => o.number === number);
      if (found) location.assign(`/customer/orders/${found.id}`);
      else showErrors(lookup, { details: { number: [`You have no order ${number}.`] } });
    } catch (error) {
      toastError(error);
    }
  });
});

loadProducts();
loadOrders();

live({ onResync: () => { loadProducts(); loadOrders(); } })
  .on("product.availability", (event) => { if (!event.active || !selector.updateStock(event)) loadProducts(); })
  .on("order.created", (event) => refreshOrder(event.order_id))
  .on("order.status_changed", (event) => {
    refreshOrder(event.order_id);
    if (event.actor === "system" || event.actor !== document.body.dataset.userId) {
      toast(`Order ${event.number}: ${STATUS_LABELS[event.new_status]}.`);
    }
  })
  .start();
