// Staff create an order on behalf of a customer: pick the customer (their address fills the
// form), pick products (with stock), and submit; then the new order's page opens.
import { IdempotentSubmission, api, getAll } from "../api.js";
import { ProductSelector } from "../components.js";
import { live } from "../realtime.js";
import {
  busy, checkForm, clearErrors, el, fieldError, fillForm, formValues, showErrors, toast, toastError,
} from "../ui.js";

const form = document.getElementById("staff-order-form");
const selector = new ProductSelector(document.getElementById("products"));
const search = document.getElementById("customer-search");
const results = document.getElementById("customer-results");
let customers = new Map();
// one Idempotency-Key across retries until the server answers definitely: never two orders
const submission = new IdempotentSubmission("/api/v1/orders");
let timer = null;

async function loadProducts() {
  try { selector.setProducts(await getAll("/api/v1/products", { active: true })); } catch (error) { toastError(error); }
}

async function findCustomers() {
  const q = search.value.trim();
  try {
    const page = await api.get("/api/v1/customers", { q, limit: 20, sort: q ? "last_name" : "-created_at" });
    const chosen = form.querySelector("input[name=customer_id]:checked")?.value;
    customers = new Map(page.items.map((c) => [c.id, c]));
    results.replaceChildren(...page.items.map((c) => el("label", {},
      el("input", { type: "radio", name: "customer_id", value: c.id, checked: c.id === chosen, onchange: () => choose(c) }),
      ` ${c.first_name} ${c.last_name} `, el("span", { class: "muted" }, c.email))));
    if (!page.items.length) results.append(el("p", { class: "muted" }, "No customer matches."));
  } catch (error) { toastError(error); }
}

function choose(customer) {
  // the customer's stored address fills the shipping address (staff may still change it)
  fillForm(form.querySelector("fieldset.address"), { shipping_address: customer.address || {} });
}

search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(findCustomers, 250); });

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  let ok = checkForm(form);
  ok = selector.validate() && ok;
  const values = formValues(form);
  if (!values.customer_id) { fieldError(form, "customer_id", "Choose the customer this order is for."); ok = false; }
  if (!ok) return;
  const body = {
    customer_id: values.customer_id,
    items: selector.items(),
    shipping_address: { ...values.shipping_address, country: values.shipping_address.country.toUpperCase() },
    payment_collected: Boolean(values.payment_collected),
  };
  await busy(form.querySelector("[type=submit]"), async () => {
    try {
      const order = await submission.send(body);
      toast(`Order ${order.number} created.`, "success");
      location.assign(`/staff/orders/${order.id}`);
    } catch (error) {
      if (error.code === "insufficient_stock") {
        selector.showShortages(error.details.shortages);
        showErrors(form, { details: {}, message: error.message });
      } else if (error.status === 422) {
        showErrors(form, error, { place: (name, message) => selector.placeError(name, message) });
      }
      else toastError(error);
    }
  });
});

loadProducts();
findCustomers();
live({ onResync: loadProducts })
  .on("product.stock_changed", (event) => { if (!selector.updateStock(event)) loadProducts(); })
  .start();
