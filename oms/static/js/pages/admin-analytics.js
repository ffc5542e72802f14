// Analytics charts (Chart.js, vendored) from GET /api/v1/reports/analytics. Colours come from
// the same CSS variables as the status badges, so "shipped" is one colour everywhere.
import { api } from "../api.js";
import { CURRENCY, STATUS_LABELS, clearErrors, el, formatDate, formatDuration, formatMoney, showErrors, toastError } from "../ui.js";

const Chart = window.Chart;
const css = getComputedStyle(document.documentElement);
const color = (name) => css.getPropertyValue(name).trim();
const charts = {};
const shortDay = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const period = document.getElementById("period");
const rangeForm = document.getElementById("range-form");
const rangeFields = document.querySelector("[data-role=range-fields]");
const fromInput = document.getElementById("range-from");
const toInput = document.getElementById("range-to");
const day = (iso) => formatDate(`${iso}T12:00:00Z`);
const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1, signDisplay: "exceptZero" });

Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
Chart.defaults.color = "#374151";
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.animation = { duration: 300 };

function draw(name, canvasId, config) {
  if (charts[name]) charts[name].destroy();
  charts[name] = new Chart(document.getElementById(canvasId), config);
}

/** "+12.5% vs 1,234 before" under a total (no percentage when the previous period had none). */
function delta(key, change, before, format) {
  const node = document.querySelector(`[data-delta=${key}]`);
  const trend = change === null ? "new" : change > 0 ? "up" : change < 0 ? "down" : "flat";
  node.dataset.trend = trend;
  node.textContent = change === null
    ? `previous period: ${format(before)}`
    : `${percent.format(change / 100)} vs ${format(before)}`;
}

/** Why the charts are empty: no orders at all yet, none before the first order, or none in
 *  the chosen days. */
function emptyReason(data) {
  if (!data.first_order_date) return "No order has been placed yet: the charts fill in with the first one.";
  if (data.first_order_date > data.to) {
    return `The first order came on ${day(data.first_order_date)}, after this period. Choose a later range.`;
  }
  return `No orders were placed from ${day(data.from)} to ${day(data.to)}. Choose another range to see its charts.`;
}

function render(data) {
  const stat = (key, value) => { document.querySelector(`[data-stat=${key}]`).textContent = value; };
  const prev = data.previous;
  const count = (n) => String(n);
  delta("orders", data.change.orders, prev.totals.orders, count);
  delta("revenue", data.change.revenue, prev.totals.revenue, formatMoney);
  delta("average_order_value", data.change.average_order_value, prev.totals.average_order_value, formatMoney);
  document.querySelector("[data-role=compare-note]").textContent =
    `${day(data.from)} – ${day(data.to)} (${data.days} day${data.days === 1 ? "" : "s"}), compared with ${day(prev.from)} – ${day(prev.to)}.`;
  const empty = document.getElementById("analytics-empty");
  empty.hidden = data.totals.orders > 0;
  empty.querySelector("[data-role=empty-reason]").textContent = data.totals.orders > 0 ? "" : emptyReason(data);
  stat("orders", data.totals.orders);
  stat("revenue", formatMoney(data.totals.revenue));
  stat("aov", formatMoney(data.totals.average_order_value));
  stat("delivery", formatDuration(data.placed_to_delivered.average_seconds));

  const days = data.per_day;
  draw("perDay", "chart-per-day", {
    data: {
      labels: days.map((d) => shortDay.format(new Date(`${d.date}T12:00:00Z`))),
      datasets: [
        { type: "bar", label: "Orders", data: days.map((d) => d.orders), yAxisID: "orders",
          backgroundColor: color("--status-placed"), borderRadius: 3 },
        { type: "line", label: "Revenue", data: days.map((d) => Number(d.revenue)), yAxisID: "revenue",
          borderColor: color("--status-delivered"), backgroundColor: color("--status-delivered"), tension: 0.25, pointRadius: 2 },
        { type: "line", label: "Revenue, previous period", data: prev.per_day.map((d) => Number(d.revenue)), yAxisID: "revenue",
          borderColor: color("--oms-muted") || "#6b7280", backgroundColor: "transparent", borderDash: [6, 4], tension: 0.25, pointRadius: 0 },
      ],
    },
    options: {
      interaction: { mode: "index", intersect: false },
      scales: {
        orders: { position: "left", beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Orders" } },
        revenue: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: `Revenue (${CURRENCY})` },
          ticks: { callback: (value) => formatMoney(value) } },
      },
    },
  });
  document.getElementById("chart-per-day").setAttribute("aria-label",
    `Orders and revenue per day from ${data.from} to ${data.to}: ${data.totals.orders} orders, revenue ${formatMoney(data.totals.revenue)}; `
    + `previous period ${prev.totals.orders} orders, revenue ${formatMoney(prev.totals.revenue)}.`);

  const statuses = Object.keys(STATUS_LABELS);
  draw("status", "chart-status", {
    type: "doughnut",
    data: {
      labels: statuses.map((s) => STATUS_LABELS[s]),
      datasets: [{ data: statuses.map((s) => data.by_status[s] || 0), backgroundColor: statuses.map((s) => color(`--status-${s}`)) }],
    },
    options: { plugins: { legend: { position: "right" } } },
  });
  document.getElementById("chart-status").setAttribute("aria-label",
    "Orders by status: " + statuses.map((s) => `${STATUS_LABELS[s]} ${data.by_status[s] || 0}`).join(", "));

  draw("top", "chart-top", {
    type: "bar",
    data: {
      labels: data.top_products.map((p) => p.name),
      datasets: [{ label: "Units", data: data.top_products.map((p) => p.units), backgroundColor: color("--status-picked"), borderRadius: 3 }],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  document.getElementById("chart-top").setAttribute("aria-label",
    "Top products by units: " + (data.top_products.map((p) => `${p.name} ${p.units}`).join(", ") || "none yet"));

  const d = data.placed_to_delivered;
  document.getElementById("delivery-facts").replaceChildren(
    el("dt", {}, "Orders delivered"), el("dd", {}, d.orders),
    el("dt", {}, "Average"), el("dd", {}, formatDuration(d.average_seconds)),
    el("dt", {}, "Fastest"), el("dd", {}, formatDuration(d.min_seconds)),
    el("dt", {}, "Slowest"), el("dd", {}, formatDuration(d.max_seconds)));

  const low = document.getElementById("low-stock");
  low.replaceChildren(...data.low_stock.map((p) => el("tr", { class: "is-low" },
    el("td", {}, p.name), el("td", { class: "num" }, p.available),
    el("td", { class: "num hide-sm" }, p.inventory_count), el("td", { class: "num hide-sm" }, p.reserved_count))));
  if (!data.low_stock.length) low.append(el("tr", {}, el("td", { colspan: 4, class: "empty" }, `Every product has more than ${data.low_stock_threshold} units available.`)));
}

function query() {
  if (period.value !== "custom") return { days: period.value };
  return { from: fromInput.value, to: toInput.value };
}

async function load() {
  clearErrors(rangeForm);
  try {
    render(await api.get("/api/v1/reports/analytics", query()));
  } catch (error) {
    // a bad range: the server's words on the field they are about
    if (error.status === 422) showErrors(rangeForm, error); else toastError(error, "Could not load the analytics.");
  }
}

/** The period in the address bar (?days= or ?from=&to=), so every view is a link. */
function remember() {
  const url = new URL(location.href);
  for (const key of ["days", "from", "to"]) url.searchParams.delete(key);
  for (const [key, value] of Object.entries(query())) if (value) url.searchParams.set(key, value);
  history.replaceState(null, "", url);
}

function showRange() { rangeFields.hidden = period.value !== "custom"; }

const params = new URLSearchParams(location.search);
if (params.get("from") || params.get("to")) {
  period.value = "custom";
  fromInput.value = params.get("from") || "";
  toInput.value = params.get("to") || "";
} else if (params.get("days") && [...period.options].some((o) => o.value === params.get("days"))) {
  period.value = params.get("days");
}
showRange();
period.addEventListener("change", () => {
  showRange();
  if (period.value === "custom") {
    if (!toInput.value) toInput.value = new Date().toISOString().slice(0, 10);
    if (!fromInput.value) fromInput.value = new Date(Date.now() - 29 * 86400000).toISOString().slice(0, 10);
    fromInput.focus();
    return;
  }
  remember();
  load();
});
rangeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  remember();
  load();
});
load();
