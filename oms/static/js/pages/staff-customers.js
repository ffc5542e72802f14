// Customer records for staff: search, create, edit; admins may also delete (anonymise) them.
import { api } from "../api.js";
import { busy, confirmDialog, el, fillForm, openDialog, toast, toastError } from "../ui.js";

const body = document.getElementById("customers");
const more = document.getElementById("more");
const dialog = document.getElementById("customer-dialog");
const search = document.getElementById("customer-search");
const isAdmin = document.body.dataset.role === "admin";
let nextCursor = null;
let timer = null;

function payload(values, { editing }) {
  const data = { ...values };
  const address = data.address;
  if (address && Object.keys(address).length) {
    const missing = ["line1", "city", "postal_code", "country"].filter((k) => !address[k]);
    if (missing.length) {
      const details = { address: Object.fromEntries(missing.map((k) => [k, ["Fill this in, or leave the whole address empty."]])) };
      throw Object.assign(new Error("The address is incomplete."), { status: 422, details });
    }
    address.country = address.country.toUpperCase();
  } else if (editing) {
    data.address = null;
  } else {
    delete data.address;
  }
  if (editing && !data.phone) data.phone = null;
  return data;
}

function row(customer) {
  const name = `${customer.first_name} ${customer.last_name}`;
  return el("tr", { "data-customer-id": customer.id },
    el("td", {}, name),
    el("td", {}, customer.email),
    el("td", { class: "hide-sm" }, customer.phone || "–"),
    el("td", { class: "hide-sm" }, customer.address ? customer.address.city : "–"),
    el("td", { class: "hide-sm" }, customer.user_id ? "yes" : "no"),
    el("td", {}, el("div", { class: "actions" },
      el("button", { type: "button", class: "secondary outline", "aria-label": `Edit ${name}`, onclick: () => edit(customer) }, "Edit"),
      el("a", { href: `/staff?status=all&customer_id=${customer.id}`, "aria-label": `Orders of ${name}` }, "Orders"),
      isAdmin ? el("a", { href: `/admin/audit?entity_type=customer&entity_id=${customer.id}`, "aria-label": `History of ${name}` }, "History") : null,
      isAdmin ? el("button", { type: "button", class: "secondary outline", "aria-label": `Delete ${name}`, onclick: (e) => remove(customer, e.currentTarget) }, "Delete") : null)));
}

async function load({ append = false } = {}) {
  const q = search.elements.q.value.trim();
  try {
    const page = await api.get("/api/v1/customers", { q, limit: 50, cursor: append ? nextCursor : null, sort: q ? "last_name" : "-created_at" });
    const rows = page.items.map(row);
    if (append) body.append(...rows); else body.replaceChildren(...rows);
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, "No customers found.")));
    nextCursor = page.next_cursor;
    more.hidden = !nextCursor;
    document.getElementById("customer-count").textContent = `${body.querySelectorAll("tr[data-customer-id]").length}${nextCursor ? "+" : ""} customers`;
  } catch (error) { toastError(error); }
}

async function create() {
  dialog.querySelector("h2").textContent = "New customer";
  fillForm(dialog.querySelector("form"), {});
  await openDialog(dialog, {
    onSubmit: async (values) => {
      const customer = await api.post("/api/v1/customers", payload(values, { editing: false }));
      toast(`Customer ${customer.first_name} ${customer.last_name} created.`, "success");
      load();
    },
  });
}

async function edit(customer) {
  dialog.querySelector("h2").textContent = `Edit ${customer.first_name} ${customer.last_name}`;
  fillForm(dialog.querySelector("form"), customer);
  await openDialog(dialog, {
    onSubmit: async (values) => {
      const updated = await api.put(`/api/v1/customers/${customer.id}`, payload(values, { editing: true }));
      body.querySelector(`[data-customer-id="${customer.id}"]`)?.replaceWith(row(updated));
      toast("Customer saved.", "success");
    },
  });
}

async function remove(customer, button) {
  const sure = await confirmDialog({
    title: `Delete ${customer.first_name} ${customer.last_name}?`,
    message: "A customer with past orders is anonymised, and their login is switched off.",
    confirm: "Delete", danger: true,
  });
  if (!sure) return;
  await busy(button, async () => {
    try {
      await api.del(`/api/v1/customers/${customer.id}`);
      toast("Customer deleted.", "success");
      load();
    } catch (error) { toastError(error); }
  });
}

document.getElementById("new-customer").addEventListener("click", create);
more.addEventListener("click", () => busy(more, () => load({ append: true })));
search.addEventListener("submit", (event) => { event.preventDefault(); load(); });
search.elements.q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 250); });
load();
if (new URLSearchParams(location.search).get("new")) create();
