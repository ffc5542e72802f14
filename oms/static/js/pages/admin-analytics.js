// Analytics charts (Chart.js, vendored) from GET /api/v1/reports/analytics. Colours come from
// the same CSS variables as the status badges, so "shipped" is one colour everywhere.
import { api } from "../api.js";
import { STATUS_LABELS, el, formatDuration, formatMoney, toastError } from "../ui.js";

const Chart = window.Chart;
const css = getComputedStyle(document.documentElement);
const color = (name) => css.getPropertyValue(name).trim();
const charts = {};
const shortDay = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const period = document.getElementById("period");

Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
Chart.defaults.color = "#374151";
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.animation = { duration: 300 };

function draw(name, canvasId, config) {
  if (charts[name]) charts[name].destroy();
  charts[name] = new Chart(document.getElementById(canvasId), config);
}

function render(data) {
  const stat = (key, value) => { document.querySelector(`[data-stat=${key}]`).textContent = value; };
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
      ],
    },
    options: {
      interaction: { mode: "index", intersect: false },
      scales: {
        orders: { position: "left", beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Orders" } },
        revenue: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "Revenue" } },
      },
    },
  });
  document.getElementById("chart-per-day").setAttribute("aria-label",
    `Orders and revenue per day from ${data.from} to ${data.to}: ${data.totals.orders} orders, revenue ${formatMoney(data.totals.revenue)}.`);

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

async function load() {
  try {
    render(await api.get("/api/v1/reports/analytics", { days: period.value }));
  } catch (error) {
    toastError(error, "Could not load the analytics.");
  }
}

const initial = new URLSearchParams(location.search).get("days");
if (initial && [...period.options].some((o) => o.value === initial)) period.value = initial;
period.addEventListener("change", () => {
  const url = new URL(location.href);
  url.searchParams.set("days", period.value);
  history.replaceState(null, "", url);
  load();
});
load();
