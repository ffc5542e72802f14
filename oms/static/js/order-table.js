// The live order table staff and admins share (templates/macros/order_table.html): saved views
// as tabs, one search bar with the other filters as chips, "1-25 of 1,234", rows that update
// live (new orders appear, statuses change in place), selection (checkboxes, shift-click
// ranges, all on the page, all matching), bulk pick / ship / cancel / export through
// POST /api/v1/orders/bulk-status with the result per order, and keyboard shortcuts.
import { api } from "./api.js";
import { statusBadge, updateBadge } from "./components.js";
import { live } from "./realtime.js";
import {
  STATUS_LABELS, busy, checkForm, decimalText, el, formatDateTime, formatMoney, openDialog, showErrors, toast,
  toastError,
} from "./ui.js";

// The saved views (tabs): what each adds to the URL's own filters.
export const VIEWS = {
  all: { label: "All", filters: {} },
  "to-pick": { label: "To pick", filters: { status: ["placed"] } },
  "to-ship": { label: "To ship", filters: { status: ["picked"] } },
  problems: { label: "Problems", filters: { problem: true } },
};
const MAX_BULK = 500; // MAX_BULK_ORDERS in oms/orders/actions.py
// The pick list takes its ids in the URL (?ids=a,b,...), and a URL stays under 8,000 bytes:
// about 200 ids of 37 characters.
const PICK_LIST_MAX = 200;
const count = new Intl.NumberFormat("en");
const DONE_WORDS = { picked: "Picked", shipped: "Shipped", cancelled: "Cancelled" };

function nextDay(date) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** "4 min", "3 h", "2 d": how long ago an order came in (the full time is its title). */
export function age(value, now = Date.now()) {
  const seconds = Math.max(0, (now - new Date(value).getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

function typing(target) {
  if (!target || !(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  if (target.matches("textarea, select")) return true;
  return target.matches("input") && !["checkbox", "radio", "button", "submit", "reset"].includes(target.type);
}

export class OrderTable {
  constructor({ onExport } = {}) {
    this.params = new URLSearchParams(location.search);
    this.view = VIEWS[this.params.get("view")] ? this.params.get("view") : "all";
    this.sort = this.params.get("sort") || "-created_at";
    this.start = Math.max(1, Number(this.params.get("start")) || 1);
    this.onExport = onExport;
    this.orders = new Map(); // id -> order, for the rows on the page and a matching selection
    this.selected = new Set();
    this.allMatching = false; // the selection is "every matching order" (export takes the filters)
    this.lastClicked = null;
    this.focusId = null;
    this.page = null;
    this.reloadTimer = null;
    this.tbody = document.getElementById("orders");
    this.form = document.getElementById("filters");
    this.summary = document.getElementById("orders-summary");
    this.bar = document.getElementById("bulk-bar");
    this.selectPage = document.getElementById("select-page");
    this.search = document.getElementById("table-search");
    this.setUpFilters();
    this.setUpTabs();
    this.setUpSorting();
    this.setUpSelection();
    this.setUpBulk();
    this.setUpKeyboard();
    setInterval(() => this.refreshAges(), 30_000);
  }

  // ---- filters, tabs, chips ----

  /** The API's filters: the URL's, and the view's (the same for the list, an export, a count). */
  filters() {
    const p = this.params;
    const result = {};
    const statuses = p.getAll("status");
    if (statuses.length) result.status = statuses;
    for (const name of ["q", "total_min", "total_max", "payment_collected", "customer_id", "product_id"]) {
      if (p.get(name)) result[name] = p.get(name);
    }
    for (const name of ["total_min", "total_max"]) if (result[name]) result[name] = decimalText(result[name]);
    if (p.get("created_from")) result.created_from = `${p.get("created_from")}T00:00:00Z`;
    // "created to" is inclusive on the page; the API's bound is exclusive
    if (p.get("created_to")) result.created_to = `${nextDay(p.get("created_to"))}T00:00:00Z`;
    if (result.payment_collected) result.payment_collected = result.payment_collected === "true";
    const view = VIEWS[this.view].filters;
    if (view.status && !result.status) result.status = view.status;
    if (view.problem) result.problem = true;
    return result;
  }

  /** Whether `order` still belongs in the current view (as far as the page can tell). */
  matches(order) {
    const f = this.filters();
    if (f.status && !f.status.includes(order.status)) return false;
    if (f.problem && !["rejected", "pending"].includes(order.status)) return false;
    return true;
  }

  link(changes) {
    const next = new URLSearchParams(location.search);
    for (const [key, value] of Object.entries(changes)) {
      next.delete(key);
      for (const v of [].concat(value ?? [])) if (v !== "" && v !== null) next.append(key, v);
    }
    next.delete("cursor");
    next.delete("start");
    const text = next.toString();
    return text ? `?${text}` : location.pathname;
  }

  setUpFilters() {
    const { form, params } = this;
    for (const field of form.elements) {
      if (!field.name) continue;
      if (field.type === "checkbox") field.checked = params.getAll(field.name).includes(field.value);
      else if (params.has(field.name)) field.value = params.get(field.name);
    }
    form.elements.sort.value = this.sort;
    const active = [...params.keys()].filter((k) => !["sort", "cursor", "limit", "view", "start", "q"].includes(k)).length;
    document.querySelector("[data-role=active-filters]").textContent = active ? `(${active} active)` : "";
    form.querySelector(".filters > [data-form-error]").style.gridColumn = "1 / -1";
    form.addEventListener("submit", (event) => {
      // checked here, in words (the browser's own bubble says "Please match the requested format.")
      if (!checkForm(form)) { event.preventDefault(); return; }
      for (const name of ["total_min", "total_max"]) form.elements[name].value = decimalText(form.elements[name].value);
      // leave empty fields out of the URL, so links stay short
      for (const field of form.elements) if (field.name && field.type !== "checkbox" && !field.value) field.disabled = true;
    });
    this.search.elements.q.value = params.get("q") || "";
    this.search.addEventListener("submit", (event) => {
      event.preventDefault();
      location.assign(this.link({ q: this.search.elements.q.value.trim() }));
    });
    this.renderChips();
  }

  renderChips(productNames = {}) {
    const p = this.params;
    const chips = [];
    const chip = (text, changes) => chips.push(el("li", {},
      el("span", { class: "chip" }, text,
        el("a", { href: this.link(changes), "aria-label": `Remove filter: ${text}`, class: "chip-remove" }, "×"))));
    if (p.get("q")) chip(`Search: ${p.get("q")}`, { q: null });
    for (const status of p.getAll("status")) {
      chip(`Status: ${STATUS_LABELS[status] || status}`, { status: p.getAll("status").filter((s) => s !== status) });
    }
    if (p.get("created_from")) chip(`From ${p.get("created_from")}`, { created_from: null });
    if (p.get("created_to")) chip(`To ${p.get("created_to")}`, { created_to: null });
    if (p.get("total_min")) chip(`Total ≥ ${p.get("total_min")}`, { total_min: null });
    if (p.get("total_max")) chip(`Total ≤ ${p.get("total_max")}`, { total_max: null });
    if (p.get("payment_collected")) chip(p.get("payment_collected") === "true" ? "Paid" : "Not paid", { payment_collected: null });
    if (p.get("product_id")) chip(`Product: ${productNames[p.get("product_id")] || "one product"}`, { product_id: null });
    if (p.get("customer_id")) chip("One customer", { customer_id: null });
    document.getElementById("filter-chips").replaceChildren(...chips);
  }

  async loadProductFilter() {
    const select = this.form.querySelector("[data-role=product-filter]");
    try {
      const page = await api.get("/api/v1/products", { limit: 200 });
      select.append(...page.items.map((p) => el("option", { value: p.id }, p.name)));
      select.value = this.params.get("product_id") || "";
      this.renderChips(Object.fromEntries(page.items.map((p) => [p.id, p.name])));
    } catch (error) { /* the filter still works from the URL */ }
  }

  setUpTabs() {
    for (const tab of document.querySelectorAll("#view-tabs a")) {
      const view = tab.dataset.view;
      tab.href = this.link({ view: view === "all" ? null : view, status: null });
      if (view === this.view) tab.setAttribute("aria-current", "page");
    }
  }

  setUpSorting() {
    for (const th of document.querySelectorAll("#orders-table th[data-sort]")) {
      const key = th.dataset.sort;
      const link = th.querySelector("a.sort");
      const current = this.sort.replace(/^-/, "") === key;
      const descending = this.sort.startsWith("-");
      link.href = this.link({ sort: current && descending ? key : `-${key}` });
      // aria-sort belongs on the column header (on a link it is not allowed)
      th.setAttribute("aria-sort", current ? (descending ? "descending" : "ascending") : "none");
      const name = link.textContent;
      link.setAttribute("aria-label", `Sort by ${name}${current ? (descending ? ", now descending" : ", now ascending") : ""}`);
    }
  }

  // ---- rows ----

  row(order) {
    let tr = this.tbody.querySelector(`tr[data-order-id="${order.id}"]`);
    if (!tr) {
      const box = el("input", { type: "checkbox", class: "row-select", "aria-label": `Select order ${order.number}` });
      tr = el("tr", { "data-order-id": order.id, tabindex: "-1" },
        el("td", { class: "nowrap first-cell" }, box, " ", el("a", { href: `/staff/orders/${order.id}`, "data-slot": "number" }, order.number)),
        el("td", { "data-label": "Customer", "data-cell": "customer" }),
        el("td", { class: "num", "data-label": "Items", "data-cell": "items" }),
        el("td", { class: "num", "data-label": "Total", "data-cell": "total" }),
        el("td", { "data-label": "Status", "data-cell": "status" }, statusBadge(order.status)),
        el("td", { class: "nowrap", "data-label": "Age", "data-cell": "age" }, el("time", {})));
    }
    this.fill(tr, order);
    return tr;
  }

  fill(tr, order) {
    this.orders.set(order.id, order);
    tr.dataset.status = order.status;
    tr.querySelector("[data-cell=customer]").textContent = order.customer ? (order.customer.name || order.customer.email) : "";
    tr.querySelector("[data-cell=items]").textContent = order.item_count;
    tr.querySelector("[data-cell=total]").textContent = formatMoney(order.total_amount);
    updateBadge(tr.querySelector(".badge"), order.status);
    const time = tr.querySelector("time");
    time.dateTime = order.created_at;
    time.title = formatDateTime(order.created_at);
    time.textContent = age(order.created_at);
    tr.querySelector(".row-select").checked = this.selected.has(order.id);
    tr.classList.toggle("is-selected", this.selected.has(order.id));
    const stale = !this.matches(order);
    tr.classList.toggle("is-stale", stale);
    tr.title = stale ? `Now ${STATUS_LABELS[order.status].toLowerCase()}: leaves this view on refresh` : "";
  }

  rows() { return [...this.tbody.querySelectorAll("tr[data-order-id]")]; }

  refreshAges() {
    for (const time of this.tbody.querySelectorAll("time[datetime]")) time.textContent = age(time.dateTime);
  }

  async load() {
    const { params } = this;
    try {
      const page = await api.get("/api/v1/orders", {
        ...this.filters(), sort: this.sort, limit: params.get("limit") || 25, cursor: params.get("cursor"),
      });
      this.page = page;
      const known = new Set(this.rows().map((tr) => tr.dataset.orderId));
      const first = !this.loadedOnce;
      this.loadedOnce = true;
      const rows = page.items.map((order) => {
        const tr = this.row(order);
        if (!first && !known.has(order.id)) {
          tr.classList.remove("is-new");
          void tr.offsetWidth;
          tr.classList.add("is-new");
        }
        return tr;
      });
      const shown = this.rows();
      const same = shown.length === rows.length && shown.every((tr, i) => tr === rows[i]);
      if (!same) {
        const hadFocus = this.tbody.contains(document.activeElement) ? document.activeElement : null;
        this.tbody.replaceChildren(...rows);
        if (hadFocus && this.tbody.contains(hadFocus)) hadFocus.focus({ preventScroll: true });
      }
      if (!page.items.length) {
        this.tbody.append(el("tr", {}, el("td", { colspan: 6, class: "empty" },
          this.view === "problems" ? "No problems: nothing rejected, nothing stuck." : "No orders match. New ones appear by themselves.")));
      }
      this.pager(page);
      this.showSummary();
      this.syncSelection();
    } catch (error) {
      if (error.status === 422) {
        // each of the server's messages on its filter, with the filters unfolded to show them
        document.getElementById("filter-box").open = true;
        showErrors(this.form, error);
        this.summary.textContent = "Some filters are not valid; they are marked above.";
        this.tbody.replaceChildren();
      } else toastError(error, "Could not load the orders.");
    } finally {
      this.tbody.removeAttribute("aria-busy");
    }
  }

  pager(page) {
    const next = document.getElementById("next-page");
    const first = document.getElementById("first-page");
    const nextParams = new URLSearchParams(location.search);
    nextParams.set("cursor", page.next_cursor || "");
    nextParams.set("start", String(this.start + page.items.length));
    next.href = `?${nextParams}`;
    next.hidden = !page.next_cursor;
    const firstParams = new URLSearchParams(location.search);
    firstParams.delete("cursor");
    firstParams.delete("start");
    first.href = `?${firstParams}`;
    first.hidden = !this.params.get("cursor");
  }

  showSummary() {
    const page = this.page;
    if (!page) return;
    const n = this.rows().length;
    const total = `${count.format(page.count)}${page.count_capped ? "+" : ""}`;
    const what = this.view === "all" ? "orders" : `orders ${VIEWS[this.view].label.toLowerCase()}`;
    this.summary.textContent = n
      ? `${count.format(this.start)}-${count.format(this.start + n - 1)} of ${total} ${what}`
      : `0 of ${total} ${what}`;
  }

  /** A live change: refetch the page soon (many events in a burst make one request). */
  scheduleReload() {
    if (this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => { this.reloadTimer = null; this.load(); }, 300);
  }

  /** A status change: the rows stay (changed in place, faded when they left the view); only
   *  the count is asked again, at most every 300 ms. */
  scheduleCount() {
    if (this.countTimer) return;
    this.countTimer = setTimeout(async () => {
      this.countTimer = null;
      try {
        const page = await api.get("/api/v1/orders", { ...this.filters(), limit: 1 });
        if (this.page) Object.assign(this.page, { count: page.count, count_capped: page.count_capped });
        this.showSummary();
      } catch (error) { /* the next change asks again */ }
    }, 300);
  }

  statusChanged(event) {
    const tr = this.tbody.querySelector(`tr[data-order-id="${event.order_id}"]`);
    const order = this.orders.get(event.order_id);
    if (tr && order) {
      this.fill(tr, { ...order, status: event.new_status, status_updated_at: event.at });
    }
    // the count of the view changes with it (an order enters or leaves "To pick")
    this.scheduleCount();
  }

  startLive(options = {}) {
    const updates = live({ onResync: ({ first }) => { if (!first) this.load(); if (options.onResync) options.onResync({ first }); } })
      .on("order.created", () => this.scheduleReload())
      .on("order.status_changed", (event) => this.statusChanged(event))
      .on("order.updated", (event) => { if (this.orders.has(event.order_id)) this.scheduleReload(); });
    return updates;
  }

  // ---- selection ----

  setUpSelection() {
    this.tbody.addEventListener("click", (event) => {
      const box = event.target.closest(".row-select");
      const tr = event.target.closest("tr[data-order-id]");
      if (!tr) return;
      if (box) {
        const ids = this.rows().map((r) => r.dataset.orderId);
        const id = tr.dataset.orderId;
        if (event.shiftKey && this.lastClicked && ids.includes(this.lastClicked)) {
          const [a, b] = [ids.indexOf(this.lastClicked), ids.indexOf(id)].sort((x, y) => x - y);
          for (const rangeId of ids.slice(a, b + 1)) this.select(rangeId, box.checked);
        } else this.select(id, box.checked);
        this.lastClicked = id;
        this.focus(tr, { scroll: false });
        this.syncSelection();
        return;
      }
      if (event.target.closest("a, button, input, label, select")) return;
      // a click anywhere else on the row opens the order (unless text is being selected)
      if (String(window.getSelection?.() || "")) return;
      location.assign(tr.querySelector("a[data-slot=number]").href);
    });
    this.selectPage.addEventListener("change", () => {
      for (const tr of this.rows()) this.select(tr.dataset.orderId, this.selectPage.checked);
      this.syncSelection();
    });
    document.getElementById("clear-selection").addEventListener("click", () => {
      this.selected.clear();
      this.allMatching = false;
      this.syncSelection();
    });
    const matching = document.getElementById("select-matching");
    matching.addEventListener("click", () => busy(matching, () => this.selectAllMatching()));
  }

  select(id, on) {
    if (on) this.selected.add(id); else this.selected.delete(id);
    if (!on) this.allMatching = false;
  }

  async selectAllMatching() {
    try {
      let cursor = null;
      do {
        const page = await api.get("/api/v1/orders", { ...this.filters(), sort: this.sort, limit: 200, cursor });
        for (const order of page.items) {
          if (this.selected.size >= MAX_BULK) break;
          this.orders.set(order.id, order);
          this.selected.add(order.id);
        }
        cursor = page.next_cursor;
      } while (cursor && this.selected.size < MAX_BULK);
      this.allMatching = !this.page.count_capped && this.selected.size >= this.page.count;
      this.syncSelection();
    } catch (error) { toastError(error, "Could not select the matching orders."); }
  }

  syncSelection() {
    const rows = this.rows();
    for (const tr of rows) {
      const on = this.selected.has(tr.dataset.orderId);
      tr.querySelector(".row-select").checked = on;
      tr.classList.toggle("is-selected", on);
    }
    const onPage = rows.filter((tr) => this.selected.has(tr.dataset.orderId)).length;
    this.selectPage.checked = rows.length > 0 && onPage === rows.length;
    this.selectPage.indeterminate = onPage > 0 && onPage < rows.length;
    const n = this.selected.size;
    this.bar.hidden = n === 0;
    document.getElementById("bulk-count").textContent = this.allMatching
      ? `All ${count.format(n)} matching orders selected`
      : `${count.format(n)} selected`;
    const matching = document.getElementById("select-matching");
    const total = this.page ? this.page.count : 0;
    const more = this.page && (this.page.count_capped || total > n) && onPage === rows.length && rows.length > 0;
    matching.hidden = !more || this.allMatching || n >= MAX_BULK;
    matching.textContent = this.page && (this.page.count_capped || total > MAX_BULK)
      ? `Select the first ${MAX_BULK} matching orders`
      : `Select all ${count.format(total)} matching orders`;
    const pickList = document.getElementById("print-pick-list");
    if (pickList) {
      const fits = n <= PICK_LIST_MAX;
      if (fits) pickList.href = `/staff/pick-list?ids=${[...this.selected].join(",")}`;
      else pickList.removeAttribute("href");
      pickList.setAttribute("aria-disabled", String(!fits));
      pickList.title = fits ? "" : `A pick list takes up to ${PICK_LIST_MAX} orders; select fewer.`;
    }
  }

  // ---- bulk actions ----

  setUpBulk() {
    for (const button of this.bar.querySelectorAll("[data-bulk]")) {
      button.addEventListener("click", () => this.bulk(button.dataset.bulk, button));
    }
    const exportButton = this.bar.querySelector("[data-bulk-export]");
    if (exportButton && this.onExport) {
      exportButton.addEventListener("click", () => busy(exportButton, () =>
        this.onExport(this.allMatching ? this.filters() : { id: [...this.selected] })));
    } else if (exportButton) exportButton.remove();
    document.getElementById("bulk-result-close").addEventListener("click", () => {
      document.getElementById("bulk-result").hidden = true;
    });
  }

  async bulk(status, button) {
    const ids = [...this.selected];
    if (!ids.length) return;
    let notes;
    if (status === "cancelled") {
      const dialog = document.getElementById("bulk-cancel-dialog");
      dialog.querySelector("[data-slot=message]").textContent =
        `${ids.length} order${ids.length === 1 ? "" : "s"} will be cancelled and their stock released. Orders already shipped are refused.`;
      const values = await openDialog(dialog);
      if (!values) return;
      notes = values.notes;
    }
    await busy(button, async () => {
      try {
        const answer = await api.post("/api/v1/orders/bulk-status", notes ? { order_ids: ids, status, notes } : { order_ids: ids, status });
        this.showResult(status, answer.results);
      } catch (error) { toastError(error, "The orders could not be changed."); }
    });
  }

  showResult(status, results) {
    const done = results.filter((r) => r.ok);
    const refused = results.filter((r) => !r.ok);
    for (const r of done) {
      this.selected.delete(r.order_id);
      const tr = this.tbody.querySelector(`tr[data-order-id="${r.order_id}"]`);
      const order = this.orders.get(r.order_id);
      if (tr && order) this.fill(tr, { ...order, status: r.status });
    }
    this.allMatching = false;
    this.syncSelection();
    const panel = document.getElementById("bulk-result");
    panel.dataset.done = done.length;
    panel.dataset.refused = refused.length;
    panel.querySelector("[data-slot=summary]").textContent =
      `${DONE_WORDS[status] || STATUS_LABELS[status]}: ${done.length} of ${results.length} order${results.length === 1 ? "" : "s"}.` +
      (refused.length ? ` ${refused.length} refused (still selected):` : "");
    panel.querySelector("[data-slot=refused]").replaceChildren(...refused.map((r) => {
      const order = this.orders.get(r.order_id);
      return el("li", { "data-order-id": r.order_id },
        el("strong", {}, order ? order.number : r.order_id), ": ", r.error.message);
    }));
    panel.hidden = false;
    panel.focus();
    this.scheduleCount();
  }

  // ---- keyboard ----

  focus(tr, { scroll = true } = {}) {
    for (const row of this.tbody.querySelectorAll("tr.is-focused")) row.classList.remove("is-focused");
    if (!tr) return;
    tr.classList.add("is-focused");
    this.focusId = tr.dataset.orderId;
    if (scroll) tr.focus();
  }

  focusedRow() {
    return this.focusId ? this.tbody.querySelector(`tr[data-order-id="${this.focusId}"]`) : null;
  }

  move(step) {
    const rows = this.rows();
    if (!rows.length) return;
    const at = rows.indexOf(this.focusedRow());
    const next = at < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, at + step));
    this.focus(rows[next]);
  }

  async act(status) {
    const tr = this.focusedRow();
    const order = tr && this.orders.get(tr.dataset.orderId);
    if (!order) return;
    try {
      const updated = await api.patch(`/api/v1/orders/${order.id}/status`, { status });
      this.fill(tr, updated);
      toast(`Order ${updated.number}: ${STATUS_LABELS[updated.status]}.`, "success");
    } catch (error) { toastError(error); }
  }

  setUpKeyboard() {
    const help = document.getElementById("shortcuts-dialog");
    const showHelp = () => openDialog(help, { focus: help.querySelector("[type=submit]") });
    document.getElementById("shortcuts-button").addEventListener("click", showHelp);
    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
      if (typing(event.target) || document.querySelector("dialog[open]")) return;
      const key = event.key;
      const onRow = !document.activeElement || document.activeElement === document.body ||
        document.activeElement.matches("main, tr[data-order-id]");
      const handlers = {
        "/": () => this.search.elements.q.focus(),
        j: () => this.move(1),
        k: () => this.move(-1),
        x: () => {
          const tr = this.focusedRow();
          if (!tr) return;
          this.select(tr.dataset.orderId, !this.selected.has(tr.dataset.orderId));
          this.lastClicked = tr.dataset.orderId;
          this.syncSelection();
        },
        p: () => this.act("picked"),
        s: () => this.act("shipped"),
        "?": showHelp,
      };
      if (key === "Enter" && onRow && this.focusedRow()) {
        event.preventDefault();
        location.assign(this.focusedRow().querySelector("a[data-slot=number]").href);
        return;
      }
      if (!handlers[key]) return;
      event.preventDefault();
      handlers[key]();
    });
  }
}
