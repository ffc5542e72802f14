// Every order for admins: search and the API's filters from the query string (deep links),
// sortable columns, cursor pages, live status changes, and queued CSV exports of the current
// filter with a live progress bar.
import { api, getAll } from "../api.js";
import { statusBadge, updateBadge } from "../components.js";
import { live } from "../realtime.js";
import {
  busy, checkForm, decimalText, el, formatBytes, formatDateTime, formatMoney, showErrors, toast, toastError,
} from "../ui.js";

const params = new URLSearchParams(location.search);
const form = document.getElementById("filters");
const tbody = document.getElementById("orders");
const summary = document.getElementById("orders-summary");
const jobsBox = document.getElementById("export-jobs");
const exportButton = document.getElementById("export-button");
const sort = params.get("sort") || "-created_at";
const jobs = new Map();
let pollTimer = null;

// ---- filters: the form shows what the URL says ----
for (const field of form.elements) {
  if (!field.name) continue;
  if (field.type === "checkbox") field.checked = params.getAll(field.name).includes(field.value);
  else if (params.has(field.name)) field.value = params.get(field.name);
}
form.elements.sort.value = sort;
// On a phone the filters fold away (their count shows on the summary) so the orders come first.
const active = [...params.keys()].filter((k) => !["sort", "cursor", "limit"].includes(k)).length;
document.querySelector("[data-role=active-filters]").textContent = active ? `(${active} active)` : "";
if (window.matchMedia("(max-width: 767px)").matches) document.getElementById("filter-box").open = false;
form.querySelector(".filters > [data-form-error]").style.gridColumn = "1 / -1";
form.addEventListener("submit", (event) => {
  // checked here, in words (the browser's own bubble says "Please match the requested format.")
  if (!checkForm(form)) { event.preventDefault(); return; }
  for (const name of ["total_min", "total_max"]) form.elements[name].value = decimalText(form.elements[name].value);
  // leave empty fields out of the URL, so links stay short
  for (const field of form.elements) if (field.name && field.type !== "checkbox" && !field.value) field.disabled = true;
});

function nextDay(date) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** The API's filters from the URL (the same ones for the list and for an export). */
function filters() {
  const result = {};
  const statuses = params.getAll("status");
  if (statuses.length) result.status = statuses;
  for (const name of ["q", "total_min", "total_max", "payment_collected", "customer_id", "product_id"]) {
    if (params.get(name)) result[name] = params.get(name);
  }
  for (const name of ["total_min", "total_max"]) if (result[name]) result[name] = decimalText(result[name]);
  if (params.get("created_from")) result.created_from = `${params.get("created_from")}T00:00:00Z`;
  // "created to" is inclusive on the page; the API's bound is exclusive
  if (params.get("created_to")) result.created_to = `${nextDay(params.get("created_to"))}T00:00:00Z`;
  if (result.payment_collected) result.payment_collected = result.payment_collected === "true";
  return result;
}

// ---- sortable columns ----
for (const th of document.querySelectorAll("th[data-sort]")) {
  const key = th.dataset.sort;
  const link = th.querySelector("a");
  const current = sort.replace(/^-/, "") === key;
  const descending = sort.startsWith("-");
  const next = new URLSearchParams(location.search);
  next.set("sort", current && descending ? key : `-${key}`);
  next.delete("cursor");
  link.href = `?${next}`;
  // aria-sort belongs on the column header (on a link it is not allowed)
  th.setAttribute("aria-sort", current ? (descending ? "descending" : "ascending") : "none");
  link.setAttribute("aria-label", `Sort by ${link.textContent}${current ? (descending ? ", now newest or largest first" : ", now oldest or smallest first") : ""}`);
}

// ---- the table ----
function row(order) {
  return el("tr", { "data-order-id": order.id },
    el("td", { class: "nowrap" }, el("a", { href: `/staff/orders/${order.id}` }, order.number)),
    el("td", { class: "nowrap" }, formatDateTime(order.created_at)),
    el("td", {}, order.customer ? order.customer.name : ""),
    el("td", { class: "num hide-sm" }, order.item_count),
    el("td", { class: "num", "data-cell": "total" }, formatMoney(order.total_amount)),
    el("td", { class: "hide-sm" }, order.payment_collected ? "Collected" : "Open"),
    el("td", { "data-cell": "status" }, statusBadge(order.status)),
    el("td", { class: "nowrap hide-sm", "data-cell": "status_updated_at" }, formatDateTime(order.status_updated_at)));
}

async function load() {
  try {
    const page = await api.get("/api/v1/orders", {
      ...filters(), sort, limit: params.get("limit") || 25, cursor: params.get("cursor"),
    });
    tbody.replaceChildren(...page.items.map(row));
    if (!page.items.length) tbody.append(el("tr", {}, el("td", { colspan: 8, class: "empty" }, "No orders match these filters.")));
    const first = document.getElementById("first-page");
    const next = document.getElementById("next-page");
    const nextParams = new URLSearchParams(location.search);
    nextParams.set("cursor", page.next_cursor || "");
    next.href = `?${nextParams}`;
    next.hidden = !page.next_cursor;
    const firstParams = new URLSearchParams(location.search);
    firstParams.delete("cursor");
    first.href = `?${firstParams}`;
    first.hidden = !params.get("cursor");
    summary.textContent = `${page.items.length} order${page.items.length === 1 ? "" : "s"} on this page${page.has_more ? ", more on the next" : ""}.`;
  } catch (error) {
    if (error.status === 422) {
      // each of the server's messages on its filter, with the filters unfolded to show them
      document.getElementById("filter-box").open = true;
      showErrors(form, error);
      summary.textContent = "Some filters are not valid; they are marked above.";
      tbody.replaceChildren();
    } else toastError(error, "Could not load the orders.");
  } finally {
    tbody.removeAttribute("aria-busy");
  }
}

// ---- exports ----
const STATUS_TEXT = { queued: "Queued", running: "Running", finished: "Finished", failed: "Failed", cancelled: "Cancelled" };

function jobView(job) {
  let box = jobsBox.querySelector(`[data-job-id="${job.id}"]`);
  if (!box) {
    box = el("div", { class: "export-job", "data-job-id": job.id, "data-testid": "export-job" },
      el("div", { class: "row" },
        el("strong", { "data-slot": "title" }),
        el("span", { "data-slot": "status", "data-testid": "export-status" })),
      el("progress", { max: 100, value: 0, "data-testid": "export-progress", "aria-label": "Export progress" }),
      el("div", { class: "row" },
        el("span", { class: "muted", "data-slot": "rows" }),
        el("span", { "data-slot": "actions" })));
    jobsBox.prepend(box);
  }
  const percent = job.status === "finished" ? 100 : Math.max(0, Math.min(100, Number(job.percent || 0)));
  box.dataset.status = job.status;
  box.querySelector("[data-slot=title]").textContent = `Export of ${formatDateTime(job.created_at)}`;
  box.querySelector("[data-slot=status]").textContent = `${STATUS_TEXT[job.status] || job.status}${job.status === "running" ? ` · ${percent}%` : ""}`;
  const progress = box.querySelector("progress");
  progress.value = percent;
  progress.setAttribute("aria-valuetext", `${percent} percent`);
  const total = job.total_rows !== null && job.total_rows !== undefined ? ` of ${job.total_rows}` : "";
  box.querySelector("[data-slot=rows]").textContent =
    `${job.rows_written || 0}${total} rows${job.file_size ? ` · ${formatBytes(job.file_size)}` : ""}${job.error ? ` · ${job.error}` : ""}`;
  const actions = box.querySelector("[data-slot=actions]");
  if (job.status === "finished") {
    const href = job.download_url || `/api/v1/reports/exports/${job.id}/download`;
    actions.replaceChildren(el("a", { role: "button", href, download: "", "data-testid": "export-download" }, "Download CSV"));
  } else if (["queued", "running"].includes(job.status)) {
    actions.replaceChildren(el("button", { type: "button", class: "secondary outline", onclick: (e) => cancelJob(job, e.currentTarget) }, "Cancel"));
  } else {
    actions.replaceChildren();
  }
}

// How far a job has got: a late answer (a poll sent before the last event) never moves it back.
const RANK = { queued: 0, running: 1, finished: 2, failed: 2, cancelled: 2 };
// Events of jobs not known yet: a small export can finish before its 202 reaches the page.
const early = new Map();

function remember(job) {
  const known = jobs.get(job.id);
  if (known && (RANK[job.status] ?? 0) < (RANK[known.status] ?? 0)) return;
  jobs.set(job.id, { ...(known || {}), ...job });
  jobView(jobs.get(job.id));
  schedulePoll();
}

async function cancelJob(job, button) {
  await busy(button, async () => {
    try {
      await api.del(`/api/v1/reports/exports/${job.id}`);
      remember(await api.get(`/api/v1/reports/exports/${job.id}`));
    } catch (error) { toastError(error); }
  });
}

// Events carry the progress; a slow poll is the safety net for a missed event.
function schedulePoll() {
  clearTimeout(pollTimer);
  const active = [...jobs.values()].filter((j) => ["queued", "running"].includes(j.status));
  if (!active.length) return;
  pollTimer = setTimeout(async () => {
    for (const job of active) {
      try { remember(await api.get(`/api/v1/reports/exports/${job.id}`)); } catch (error) { /* next time */ }
    }
  }, document.body.dataset.live === "live" ? 5000 : 2000);
}

exportButton.addEventListener("click", () => busy(exportButton, async () => {
  try {
    const job = await api.post("/api/v1/reports/exports", filters());
    remember(job);
    const seen = early.get(job.id);
    early.delete(job.id);
    if (seen) remember(seen);
    toast("Export queued. The progress bar follows it live.", "success");
    // the real state at once: it may have finished while the 202 was on its way
    api.get(`/api/v1/reports/exports/${job.id}`).then(remember).catch(() => {});
  } catch (error) {
    toastError(error, "Could not queue the export.");
  }
}));

async function loadJobs() {
  try {
    const page = await api.get("/api/v1/reports/exports", { limit: 5 });
    page.items.reverse().forEach(remember);
  } catch (error) {
    if (error.status === 404) {
      exportButton.disabled = true;
      jobsBox.replaceChildren(el("p", { class: "muted" }, "Exports are not available on this server."));
    }
  }
}

async function loadProductFilter() {
  const select = form.querySelector("[data-role=product-filter]");
  try {
    const products = await getAll("/api/v1/products");
    select.append(...products.map((p) => el("option", { value: p.id }, p.name)));
    select.value = params.get("product_id") || "";
  } catch (error) { /* the filter still works from the URL */ }
}

load();
loadJobs();
loadProductFilter();

live({ onResync: ({ first }) => { if (!first) { load(); loadJobs(); } } })
  .on("order.status_changed", (event) => {
    const tr = tbody.querySelector(`[data-order-id="${event.order_id}"]`);
    if (!tr) return;
    updateBadge(tr.querySelector(".badge"), event.new_status);
    tr.querySelector("[data-cell=status_updated_at]").textContent = formatDateTime(event.at);
  })
  .on("export.progress", (event) => {
    const known = jobs.get(event.job_id);
    if (!known) {
      if ((RANK[early.get(event.job_id)?.status] ?? 0) < 2) early.set(event.job_id, { id: event.job_id, status: "running", rows_written: event.rows_written, total_rows: event.total_rows, percent: event.percent });
      return;
    }
    if (!["queued", "running"].includes(known.status)) return; // late
    remember({ id: event.job_id, status: "running", rows_written: event.rows_written, total_rows: event.total_rows, percent: event.percent });
  })
  .on("export.finished", (event) => {
    if (!jobs.has(event.job_id)) {
      early.set(event.job_id, { id: event.job_id, status: event.status, rows_written: event.rows_written, file_size: event.file_size, percent: event.status === "finished" ? 100 : 0 });
      return;
    }
    remember({ id: event.job_id, status: event.status, rows_written: event.rows_written, file_size: event.file_size, percent: event.status === "finished" ? 100 : jobs.get(event.job_id).percent });
    if (event.status === "finished") toast(`Export finished: ${event.rows_written} rows. Ready to download.`, "success");
    else toast(`Export ${event.status}.`, "error");
    // fetch the job for its download link and final fields
    api.get(`/api/v1/reports/exports/${event.job_id}`).then(remember).catch(() => {});
  })
  .start();
