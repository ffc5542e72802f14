// Stuck work for admins (through /api/v1/ops/problems): the oldest problems of every kind (or
// one), with the reason and a Replay button each, confirmed in the shared dialog.
import { api } from "../api.js";
import { busy, confirmDialog, el, formatDateTime, toast, toastError } from "../ui.js";

const body = document.getElementById("problems");
const kindSelect = document.getElementById("problem-kind");
const count = document.getElementById("problem-count");
const KINDS = {
  pending_order: "Order pending",
  outbox_message: "Task not sent",
  notification: "Email not sent",
  export: "Export",
  webhook_delivery: "Webhook delivery",
  dead_letter: "Dead letter",
};

function what(problem) {
  const d = problem.details || {};
  if (problem.kind === "pending_order") return d.number || problem.id;
  if (problem.kind === "notification") return `${d.subject || ""} (${d.recipient || ""})`;
  if (problem.kind === "webhook_delivery") return `${d.event_type} #${problem.id}`;
  if (d.task) return `${d.task} #${problem.id}`;
  return problem.id;
}

function row(problem) {
  const label = `${KINDS[problem.kind] || problem.kind} ${what(problem)}`;
  return el("tr", { "data-problem-kind": problem.kind, "data-problem-id": problem.id },
    el("td", {}, formatDateTime(problem.since)),
    el("td", {}, KINDS[problem.kind] || problem.kind),
    el("td", {}, what(problem)),
    el("td", { "data-cell": "reason" }, problem.reason),
    el("td", {}, el("button", {
      type: "button", class: "secondary outline", "aria-label": `Replay ${label}`,
      onclick: (e) => replay(problem, label, e.currentTarget),
    }, "Replay")));
}

async function load() {
  try {
    const page = await api.get("/api/v1/ops/problems", { kind: kindSelect.value || null, limit: 200 });
    body.replaceChildren(...page.items.map(row));
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "No problems: everything finished.")));
    const total = Object.values(page.counts).reduce((a, b) => a + b, 0);
    count.textContent = page.has_more ? `${page.items.length} of ${total} shown (oldest first)` : `${total} problem(s)`;
  } catch (error) { toastError(error); }
}

async function replay(problem, label, target) {
  if (!(await confirmDialog({
    title: "Replay this?",
    message: `${label}: ${problem.reason} It is handed back to its mechanism once.`,
    confirm: "Replay",
  }))) return;
  await busy(target, async () => {
    try {
      const result = await api.post(`/api/v1/ops/problems/${problem.kind}/${encodeURIComponent(problem.id)}/replay`);
      toast(`${label}: ${result.action}.`, "success");
    } catch (error) { toastError(error); }
    load();
  });
}

kindSelect.addEventListener("change", load);
document.getElementById("refresh-problems").addEventListener("click", (e) => busy(e.currentTarget, load));
load();
