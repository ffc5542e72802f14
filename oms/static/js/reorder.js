// Reorder a past order in one click (customers): POST /api/v1/orders/:id/reorder with an
// Idempotency-Key kept until the server answers definitely (a retry never makes two orders).
// Lines no longer sold or out of stock come back as 409 reorder_unavailable: the dialog lists
// each in the server's words.
import { IdempotentSubmission } from "./api.js";
import { busy, el, openDialog, toast, toastError } from "./ui.js";

const submissions = new Map();

/** A "Reorder" button for `order`. */
export function reorderButton(order) {
  return el("button", {
    type: "button", class: "secondary outline", "data-action": "reorder",
    "aria-label": `Reorder ${order.number}`,
    onclick: (event) => reorder(order, event.currentTarget),
  }, "Reorder");
}

async function reorder(order, button) {
  if (!submissions.has(order.id)) submissions.set(order.id, new IdempotentSubmission(`/api/v1/orders/${order.id}/reorder`));
  await busy(button, async () => {
    try {
      const placed = await submissions.get(order.id).send({});
      submissions.delete(order.id);
      toast(`Order ${placed.number} received: the items of ${order.number} again.`, "success");
      location.assign(`/customer/orders/${placed.id}`);
    } catch (error) {
      if (error.code === "reorder_unavailable") explain(order, error.details.lines || []);
      else toastError(error);
    }
  });
}

function explain(order, lines) {
  const dialog = document.getElementById("reorder-dialog");
  dialog.querySelector("[data-role=number]").textContent = order.number;
  dialog.querySelector("[data-slot=lines]").replaceChildren(
    ...lines.map((line) => el("li", { "data-reason": line.reason }, line.message)));
  openDialog(dialog);
}
