// Every order for admins: the live order table (oms/static/js/order-table.js, as on
// /staff/orders: views, search, selection and bulk actions, shortcuts) and queued CSV exports
// of the current filter or of a selection, with a live progress bar.
import { api } from "../api.js";
import { OrderTable } from "../order-table.js";
import { busy, el, formatBytes, formatDateTime, toast, toastError } from "../ui.js";

const jobsBox = document.getElementById("export-jobs");
const exportButton = document.getElementById("export-button");
const jobs = new Map();
let pollTimer = null;

/** Queue an export of `filters` (the listing's; `{id: [...]}` for a selection). */
async function queueExport(filters) {
  try {
    const job = await api.post("/api/v1/reports/exports", filters);
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
}

const table = new OrderTable({ onExport: queueExport });

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

exportButton.addEventListener("click", () => busy(exportButton, () => queueExport(table.filters())));

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

table.load();
loadJobs();
table.loadProductFilter();

table.startLive({ onResync: ({ first }) => { if (!first) loadJobs(); } })
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
