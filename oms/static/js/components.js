// Shared components, filled into the markup of templates/macros/components.html: status badge,
// order card, status timeline, and the product selector.

import { ACTION_LABELS, STATUS_LABELS, el, formatDateTime, formatMoney } from "./ui.js";

/** A status badge (one colour per status, from app.css). */
export function statusBadge(status, attrs = {}) {
  return el("span", { class: "badge", "data-status": status, ...attrs }, STATUS_LABELS[status] || status);
}

/** Change a badge in place (same size: no layout jump), with a short pulse. */
export function updateBadge(badge, status) {
  if (!badge || badge.dataset.status === status) return;
  badge.dataset.status = status;
  badge.textContent = STATUS_LABELS[status] || status;
  badge.classList.remove("changed");
  void badge.offsetWidth; // restart the animation
  badge.classList.add("changed");
}

function slot(root, name) { return root.querySelector(`[data-slot="${name}"]`); }

/**
 * An order card from the tpl-order-card template. `actions(order)` returns the buttons to show.
 */
export function orderCard(order, { href, actions } = {}) {
  const template = document.getElementById("tpl-order-card");
  const card = template.content.firstElementChild.cloneNode(true);
  fillOrderCard(card, order, { href, actions });
  return card;
}

export function fillOrderCard(card, order, { href, actions } = {}) {
  card.dataset.orderId = order.id;
  card.dataset.status = order.status;
  card.dataset.number = order.number;
  const link = slot(card, "link");
  link.href = href ? href(order) : `${link.dataset.base}${order.id}`;
  slot(card, "number").textContent = order.number;
  // a customer's own cards ("My orders") do not repeat their name on every card
  const own = document.body.dataset.role === "customer";
  slot(card, "customer").textContent = order.customer && !own ? ` · ${order.customer.name || order.customer.email}` : "";
  slot(card, "items").textContent = `${order.item_count} item${order.item_count === 1 ? "" : "s"}`;
  slot(card, "total").textContent = formatMoney(order.total_amount);
  slot(card, "created").textContent = formatDateTime(order.created_at);
  updateBadge(card.querySelector(".badge"), order.status);
  const box = slot(card, "actions");
  box.replaceChildren(...(actions ? actions(order) : []));
  return card;
}

/** Buttons for the statuses the caller may set next (from the API's allowed_statuses). */
export function actionButtons(order, onAction, { only } = {}) {
  return (order.allowed_statuses || [])
    .filter((status) => !only || only.includes(status))
    .map((status) => el("button", {
      type: "button",
      class: status === "cancelled" ? "secondary outline" : null,
      "data-action": status,
      "aria-label": `${ACTION_LABELS[status] || status} order ${order.number}`,
      onclick: (event) => onAction(order, status, event.currentTarget),
    }, ACTION_LABELS[status] || status));
}

const MAIN_STEPS = ["pending", "placed", "picked", "shipped", "delivered"];
const STEP_TEXT = {
  pending: ["Received", "We have your order and are reserving the stock."],
  placed: ["Placed", "Stock is reserved for every item."],
  picked: ["Picked", "Your items are packed in the warehouse."],
  shipped: ["Shipped", "On the way to you."],
  delivered: ["Delivered", "Arrived."],
  cancelled: ["Cancelled", "The order was cancelled."],
  rejected: ["Rejected", "The order could not be fulfilled."],
};

/**
 * Draw the status timeline from an order's history. Every step is drawn from the start, so a
 * live change recolours steps instead of adding rows.
 */
export function renderTimeline(list, order) {
  const reached = new Map();
  for (const entry of order.history || []) reached.set(entry.new_status, entry);
  const final = ["cancelled", "rejected"].includes(order.status) ? order.status : null;
  let steps = MAIN_STEPS;
  if (final) {
    // the branch replaces the steps that will never come
    const lastMain = MAIN_STEPS.filter((s) => reached.has(s));
    steps = [...lastMain, final];
  }
  const currentIndex = steps.indexOf(order.status);
  list.replaceChildren(...steps.map((step, index) => {
    const entry = reached.get(step);
    const state = index < currentIndex ? "done" : index === currentIndex ? "current" : "todo";
    const [title, text] = STEP_TEXT[step];
    const note = entry && entry.notes && entry.notes !== "Order received." ? entry.notes : null;
    return el("li", { "data-step": step, "data-state": state, "aria-current": state === "current" ? "step" : null },
      el("span", { class: "step-title" }, title),
      el("span", { class: "step-when" }, entry ? formatDateTime(entry.created_at) : (state === "todo" ? "" : "")),
      el("span", { class: `step-note${step === "rejected" ? " reason" : ""}` }, note || (state === "todo" ? "" : text)));
  }));
}

/**
 * The product selector: lists products with price and availability, a quantity for each, and a
 * running total. Availability follows `product.availability` (customers) or
 * `product.stock_changed` (staff) events (call `updateStock`).
 */
export class ProductSelector {
  constructor(root, { onChange } = {}) {
    this.root = root;
    this.list = root.querySelector("[data-role=list]");
    this.search = root.querySelector("[data-role=search]");
    this.totalNode = root.querySelector("[data-role=total]");
    this.countNode = root.querySelector("[data-role=count]");
    this.showStock = root.dataset.showStock === "true";
    this.template = document.getElementById("tpl-product-row");
    this.products = new Map();
    this.rows = new Map();
    this.onChange = onChange || (() => {});
    this.search.addEventListener("input", () => this.filter());
  }

  /** Replace the catalogue. Rows of known products are updated in place (the quantity being
   *  typed, and the focus, survive a refetch); only new or vanished products change the list. */
  setProducts(products) {
    const next = new Map(products.filter((p) => p.active !== false).map((p) => [p.id, p]));
    const sameOrder = next.size === this.rows.size && [...next.keys()].every((id, i) => [...this.rows.keys()][i] === id);
    this.products = next;
    for (const id of [...this.rows.keys()]) if (!next.has(id)) this.rows.delete(id);
    for (const product of next.values()) {
      const row = this.rows.get(product.id);
      if (row) {
        row.querySelector("[data-slot=name]").textContent = product.name;
        row.querySelector("[data-slot=price]").textContent = formatMoney(product.price);
        this.paintStock(product.id);
      } else {
        this.row(product, 0);
      }
    }
    if (!sameOrder) {
      const ordered = new Map([...next.keys()].map((id) => [id, this.rows.get(id)]));
      this.rows = ordered;
      this.list.replaceChildren(...ordered.values());
    }
    this.list.removeAttribute("aria-busy");
    if (!this.products.size) this.list.replaceChildren(el("p", { class: "empty" }, "No products are for sale right now."));
    this.filter();
    this.recalc();
  }

  row(product, quantity) {
    const row = this.template.content.firstElementChild.cloneNode(true);
    const id = `qty-${product.id}`;
    row.dataset.productId = product.id;
    row.querySelector("[data-slot=name]").textContent = product.name;
    row.querySelector("[data-slot=price]").textContent = formatMoney(product.price);
    const input = row.querySelector("[data-slot=qty]");
    const label = row.querySelector("[data-slot=qty-label]");
    input.id = id;
    input.name = `qty.${product.id}`;
    input.value = String(quantity);
    label.htmlFor = id;
    label.textContent = "Qty";
    label.setAttribute("aria-label", `Quantity of ${product.name}`);
    // the row's own error line is the one place this input's messages go (never twice)
    const error = row.querySelector("[data-slot=error]");
    error.id = `${id}-error`;
    input.dataset.errorSlot = error.id;
    input.setAttribute("aria-describedby", error.id);
    input.addEventListener("input", () => { this.validateRow(product.id); this.recalc(); });
    this.rows.set(product.id, row);
    this.paintStock(product.id);
    return row;
  }

  paintStock(productId) {
    const product = this.products.get(productId);
    const row = this.rows.get(productId);
    if (!product || !row) return;
    const available = Number(product.available);
    const node = row.querySelector("[data-slot=available]");
    let text = available > 0 ? `${available} available` : "Out of stock";
    if (this.showStock && product.inventory_count !== undefined) {
      text += ` (${product.inventory_count} on hand, ${product.reserved_count} reserved)`;
    }
    node.textContent = text;
    node.dataset.level = available <= 0 ? "out" : available <= 5 ? "low" : "ok";
    row.dataset.soldout = String(available <= 0);
    const input = row.querySelector("[data-slot=qty]");
    input.max = String(Math.max(available, 0));
    this.validateRow(productId);
  }

  validateRow(productId) {
    const row = this.rows.get(productId);
    const product = this.products.get(productId);
    const input = row.querySelector("[data-slot=qty]");
    const error = row.querySelector("[data-slot=error]");
    const value = input.value === "" ? 0 : Number(input.value);
    let message = "";
    if (!Number.isInteger(value) || value < 0) message = "Enter a whole number of 0 or more.";
    else if (value > Number(product.available)) message = `Only ${Math.max(Number(product.available), 0)} available; you asked for ${value}.`;
    error.textContent = message;
    input.setCustomValidity(message);
    if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    row.dataset.selected = String(value > 0 && !message);
    return !message;
  }

  /** A live stock change: update availability in place (no re-render, no layout jump). */
  updateStock(event) {
    const product = this.products.get(event.product_id);
    if (!product) return false;
    product.available = event.available;
    if (event.inventory_count !== undefined) product.inventory_count = event.inventory_count;
    if (event.reserved_count !== undefined) product.reserved_count = event.reserved_count;
    this.paintStock(event.product_id);
    this.recalc();
    return true;
  }

  filter() {
    const words = this.search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    for (const [id, row] of this.rows) {
      const name = this.products.get(id).name.toLowerCase();
      row.hidden = !words.every((w) => name.includes(w)) && row.dataset.selected !== "true";
    }
  }

  /** The quantity of every valid line (a whole number within what is available): an invalid
   *  line is marked on its row and left out of the count and the total. */
  quantities() {
    const result = new Map();
    for (const [id, row] of this.rows) {
      const input = row.querySelector("[data-slot=qty]");
      const value = input.value === "" ? 0 : Number(input.value);
      if (value > 0 && !input.validationMessage && Number.isInteger(value)) result.set(id, value);
    }
    return result;
  }

  /** Put a server detail about an order line ("items.0.quantity", "items.1.product_id") on that
   *  line's row; true when it was placed. */
  placeError(name, message) {
    const match = /^items\.(\d+)(?:\.|$)/.exec(name);
    if (!match) return false;
    const line = this.items()[Number(match[1])];
    const row = line && this.rows.get(line.product_id);
    if (!row) return false;
    row.querySelector("[data-slot=error]").textContent = message;
    row.querySelector("[data-slot=qty]").setAttribute("aria-invalid", "true");
    return true;
  }

  /** The order lines: [{product_id, quantity}] */
  items() {
    return [...this.quantities()].map(([product_id, quantity]) => ({ product_id, quantity }));
  }

  validate() {
    let ok = true;
    for (const id of this.rows.keys()) ok = this.validateRow(id) && ok;
    const error = this.root.querySelector("[data-error-for=items]");
    if (!this.items().length) {
      error.textContent = "Choose at least one product (set its quantity).";
      error.hidden = false;
      ok = false;
    } else if (ok) {
      error.textContent = "";
      error.hidden = true;
    }
    if (!ok) {
      const bad = this.list.querySelector("[aria-invalid]") || this.list.querySelector("input");
      if (bad) bad.focus();
    }
    return ok;
  }

  /** Mark the server's shortages (409 insufficient_stock) on their rows. */
  showShortages(shortages) {
    for (const shortage of shortages || []) {
      const row = this.rows.get(shortage.product_id);
      if (!row) continue;
      const product = this.products.get(shortage.product_id);
      product.available = shortage.available;
      this.paintStock(shortage.product_id);
      row.querySelector("[data-slot=error]").textContent =
        `Only ${shortage.available} available; you asked for ${shortage.wanted}.`;
    }
  }

  total() {
    let cents = 0;
    for (const [id, quantity] of this.quantities()) {
      cents += Math.round(Number(this.products.get(id).price) * 100) * quantity;
    }
    return cents / 100;
  }

  recalc() {
    const count = [...this.quantities().values()].reduce((a, b) => a + b, 0);
    this.countNode.textContent = String(count);
    this.totalNode.textContent = formatMoney(this.total());
    this.onChange(this);
  }

  reset() {
    for (const row of this.rows.values()) row.querySelector("[data-slot=qty]").value = "0";
    for (const id of this.rows.keys()) this.validateRow(id);
    this.recalc();
  }
}
