// The catalogue for staff: create, edit, deactivate or reactivate, restock; stock counts follow
// `product.stock_changed` events live.
import { api } from "../api.js";
import { live } from "../realtime.js";
import { busy, decimalText, el, fillForm, formatMoney, openDialog, toast, toastError } from "../ui.js";

const body = document.getElementById("products");
const more = document.getElementById("more");
const dialog = document.getElementById("product-dialog");
const restockDialog = document.getElementById("restock-dialog");
const search = document.getElementById("product-search");
const products = new Map();
let nextCursor = null;
let timer = null;

function query() {
  const show = search.elements.show.value;
  return {
    q: search.elements.q.value.trim(),
    active: show === "active" ? true : show === "inactive" ? false : undefined,
    low_stock: show === "low" ? true : undefined,
  };
}

function row(product) {
  products.set(product.id, product);
  const tr = el("tr", { "data-product-id": product.id, class: product.low_stock && product.active ? "is-low" : null },
    el("td", {}, product.name),
    el("td", { class: "num" }, formatMoney(product.price)),
    el("td", { class: "num hide-sm", "data-cell": "inventory_count" }, product.inventory_count),
    el("td", { class: "num hide-sm", "data-cell": "reserved_count" }, product.reserved_count),
    el("td", { class: "num", "data-cell": "available" }, product.available),
    el("td", {}, product.active ? (product.low_stock ? "Low on stock" : "For sale") : "Deactivated"),
    el("td", {}, el("div", { class: "actions" },
      el("button", { type: "button", class: "secondary outline", "aria-label": `Edit ${product.name}`, onclick: () => edit(product.id) }, "Edit"),
      el("button", { type: "button", "aria-label": `Restock ${product.name}`, onclick: () => restock(product.id) }, "Restock"),
      el("button", {
        type: "button", class: "secondary outline", "aria-label": `${product.active ? "Deactivate" : "Activate"} ${product.name}`,
        onclick: (e) => toggle(product.id, e.currentTarget),
      }, product.active ? "Deactivate" : "Activate"),
      document.body.dataset.role === "admin"
        ? el("a", { href: `/admin/audit?entity_type=product&entity_id=${product.id}`, "aria-label": `History of ${product.name}` }, "History")
        : null)));
  return tr;
}

function replaceRow(product) {
  const existing = body.querySelector(`[data-product-id="${product.id}"]`);
  if (existing) existing.replaceWith(row(product));
}

async function load({ append = false } = {}) {
  try {
    const page = await api.get("/api/v1/products", { ...query(), limit: 50, cursor: append ? nextCursor : null });
    const rows = page.items.map(row);
    if (append) body.append(...rows); else body.replaceChildren(...rows);
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 7, class: "empty" }, "No products found.")));
    nextCursor = page.next_cursor;
    more.hidden = !nextCursor;
    document.getElementById("product-count").textContent = `${body.querySelectorAll("tr[data-product-id]").length}${nextCursor ? "+" : ""} products`;
  } catch (error) { toastError(error); }
}

function productPayload(values, { creating }) {
  const data = { name: values.name, price: decimalText(values.price), active: Boolean(values.active) };
  data.description = values.description || null;
  if (creating) data.inventory_count = Number(values.inventory_count || 0);
  return data;
}

async function create() {
  dialog.querySelector("h2").textContent = "New product";
  const form = dialog.querySelector("form");
  fillForm(form, { active: true, inventory_count: 0 });
  form.querySelector("[data-create-only]").hidden = false;
  await openDialog(dialog, {
    onSubmit: async (values) => {
      const product = await api.post("/api/v1/products", productPayload(values, { creating: true }));
      toast(`${product.name} created.`, "success");
      load();
    },
  });
}

async function edit(productId) {
  const product = products.get(productId);
  dialog.querySelector("h2").textContent = `Edit ${product.name}`;
  const form = dialog.querySelector("form");
  fillForm(form, product);
  form.querySelector("[data-create-only]").hidden = true;
  await openDialog(dialog, {
    onSubmit: async (values) => {
      const updated = await api.put(`/api/v1/products/${productId}`, productPayload(values, { creating: false }));
      replaceRow(updated);
      toast(`${updated.name} saved.`, "success");
    },
  });
}

async function restock(productId) {
  const product = products.get(productId);
  restockDialog.querySelector("[data-slot=title]").textContent = `Restock ${product.name}`;
  restockDialog.querySelector("[data-role=current]").textContent =
    `${product.inventory_count} on hand, ${product.reserved_count} reserved, ${product.available} available.`;
  fillForm(restockDialog.querySelector("form"), {});
  await openDialog(restockDialog, {
    onSubmit: async (values) => {
      // the server adds the units to the count it holds locked: concurrent restocks both count
      const updated = await api.put(`/api/v1/products/${productId}`, { add_units: Number(values.units) });
      replaceRow(updated);
      toast(`${values.units} units of ${updated.name} added; ${updated.available} available.`, "success");
    },
  });
}

async function toggle(productId, button) {
  const product = products.get(productId);
  await busy(button, async () => {
    try {
      const updated = await api.put(`/api/v1/products/${productId}`, { active: !product.active });
      replaceRow(updated);
      toast(`${updated.name} ${updated.active ? "is for sale again" : "is deactivated"}.`, "success");
    } catch (error) { toastError(error); }
  });
}

document.getElementById("new-product").addEventListener("click", create);
more.addEventListener("click", () => busy(more, () => load({ append: true })));
search.addEventListener("submit", (event) => { event.preventDefault(); load(); });
search.elements.q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 250); });
search.elements.show.addEventListener("change", () => load());
load();

live({ onResync: () => load() })
  .on("product.stock_changed", (event) => {
    const product = products.get(event.product_id);
    if (!product) return;
    Object.assign(product, {
      inventory_count: event.inventory_count, reserved_count: event.reserved_count, available: event.available,
    });
    const tr = body.querySelector(`[data-product-id="${event.product_id}"]`);
    if (!tr) return;
    for (const cell of ["inventory_count", "reserved_count", "available"]) {
      tr.querySelector(`[data-cell=${cell}]`).textContent = product[cell];
    }
  })
  .start();
