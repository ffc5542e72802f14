// Worker health for admins: the Celery workers that answer and what they run, messages waiting
// per queue, task outcomes with a rate from the last two samples. The first sample comes from
// GET /api/v1/ops/workers, the next ones are pushed over Socket.IO (ops.workers, every
// OMS_WORKERS_PUSH_SECONDS); while no push arrives (connection down) the page asks the API
// itself. Stock drift the reconciler reports arrives live too (ops.stock_drift).
import { api } from "../api.js";
import { el, formatDateTime, formatDuration } from "../ui.js";
import { live } from "../realtime.js";

const REFRESH_MS = Number(document.getElementById("workers-page").dataset.pushSeconds) * 1000;
const workersBody = document.getElementById("workers");
const queuesBody = document.getElementById("queues");
const tasksBody = document.getElementById("tasks");
const sampledAt = document.getElementById("sampled-at");
const error = document.getElementById("workers-error");
let previous = null;
let renderedAt = 0;

function empty(colspan, text) {
  return el("tr", {}, el("td", { colspan, class: "empty" }, text));
}

function workerRow(worker) {
  const running = worker.active.length
    ? el("ul", { class: "changes" }, ...worker.active.map((task) => el("li", {},
      el("code", {}, task.name || "?"), task.started_at ? ` since ${formatDateTime(task.started_at)}` : "")))
    : el("span", { class: "muted" }, "idle");
  return el("tr", { "data-worker": worker.name },
    el("td", { "data-label": "Worker" }, el("strong", {}, worker.name), el("br"), el("span", { class: "muted" }, `pid ${worker.pid ?? "?"}`)),
    el("td", { "data-label": "Processes" }, String(worker.concurrency ?? "–")),
    el("td", { "data-label": "Up" }, formatDuration(worker.uptime_seconds)),
    el("td", { "data-label": "Received" }, String(worker.processed)),
    el("td", { "data-label": "Running now" }, running));
}

function perMinute(task, health) {
  if (!previous) return "–";
  const before = previous.tasks.find((t) => t.name === task.name);
  const seconds = (new Date(health.sampled_at) - new Date(previous.sampled_at)) / 1000;
  if (seconds <= 0) return "–";
  const done = task.succeeded + task.failed - (before ? before.succeeded + before.failed : 0);
  return (Math.max(0, done) * 60 / seconds).toFixed(1);
}

function render(health) {
  error.hidden = !health.inspect_error;
  error.textContent = health.inspect_error ? `The workers could not be asked: ${health.inspect_error}` : "";
  const none = health.embedded ? "Tasks run inside the web process (no broker configured)." : "No worker answers.";
  workersBody.replaceChildren(...(health.workers.length ? health.workers.map(workerRow) : [empty(5, none)]));
  queuesBody.replaceChildren(...health.queues.map((queue) => el("tr", { "data-queue": queue.name },
    el("td", { "data-label": "Queue" }, queue.name),
    el("td", { "data-label": "Waiting" }, queue.depth < 0 ? "broker down" : String(queue.depth)))));
  tasksBody.replaceChildren(...(health.tasks.length ? health.tasks.map((task) => el("tr", { "data-task": task.name },
    el("td", { "data-label": "Task" }, el("code", {}, task.name)),
    el("td", { "data-label": "Succeeded" }, String(task.succeeded)),
    el("td", { "data-label": "Failed", class: task.failed ? "form-error" : "" }, String(task.failed)),
    el("td", { "data-label": "Retried" }, String(task.retried)),
    el("td", { "data-label": "Per minute" }, perMinute(task, health)))) : [empty(5, "No task has run yet.")]));
  sampledAt.textContent = `Updated ${formatDateTime(health.sampled_at)}`;
  previous = health;
  renderedAt = Date.now();
}

async function load() {
  try {
    render(await api.get("/api/v1/ops/workers"));
  } catch (failure) {
    error.hidden = false;
    error.textContent = `Worker health unavailable: ${failure.message}`;
  }
}

// Pushes stopped (offline, reconnecting): ask the API instead. A push comes every interval
// plus the inspection's own time (about a second), so two intervals and 5 s mean "stopped".
setInterval(() => { if (Date.now() - renderedAt > 2 * REFRESH_MS + 5000) load(); }, REFRESH_MS);

function drift(event) {
  document.getElementById("drift-section").hidden = false;
  const state = event.repaired ? "set right" : "left as it is (OMS_RECONCILE_REPAIR is off)";
  document.getElementById("drift").prepend(el("li", { "data-product-id": event.product_id },
    `${formatDateTime(event.at)}: ${event.name} had reserved_count ${event.reserved_count}, its orders hold ${event.expected_reserved}; ${state}.`));
}

live().on("ops.workers", render).on("ops.stock_drift", drift).start();
load();
