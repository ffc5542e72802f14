// User management for admins: create staff and admin accounts, change roles, deactivate and
// reactivate accounts (through /api/v1/users); see and lift login locks (/api/v1/auth/locks).
import { api } from "../api.js";
import { busy, confirmDialog, el, fillForm, formatDate, openDialog, toast, toastError } from "../ui.js";

const body = document.getElementById("users");
const more = document.getElementById("more");
const search = document.getElementById("user-search");
const dialog = document.getElementById("user-dialog");
const me = document.body.dataset.userId;
const ROLES = ["customer", "staff", "admin"];
let nextCursor = null;
let timer = null;

function row(user) {
  const name = `${user.first_name} ${user.last_name}`.trim() || user.email;
  const self = user.id === me;
  const role = el("select", {
    class: "compact", "aria-label": `Role of ${name}`, disabled: self, title: self ? "You cannot change your own role" : null,
    onchange: (e) => changeRole(user, e.currentTarget),
  }, ...ROLES.map((r) => el("option", { value: r, selected: r === user.role }, r[0].toUpperCase() + r.slice(1))));
  return el("tr", { "data-user-id": user.id },
    el("td", {}, name, self ? el("span", { class: "muted" }, " (you)") : null),
    el("td", {}, user.email),
    el("td", {}, role),
    el("td", {}, user.is_active ? "Active" : "Deactivated"),
    el("td", { class: "hide-sm" }, formatDate(user.created_at)),
    el("td", {}, el("div", { class: "actions" }, self ? null : el("button", {
      type: "button", class: "secondary outline", "aria-label": `${user.is_active ? "Deactivate" : "Reactivate"} ${name}`,
      onclick: (e) => toggle(user, e.currentTarget),
    }, user.is_active ? "Deactivate" : "Reactivate"),
    el("a", { href: `/admin/audit?entity_type=user&entity_id=${user.id}`, "aria-label": `History of ${name}` }, "History"))));
}

function replaceRow(user) {
  body.querySelector(`[data-user-id="${user.id}"]`)?.replaceWith(row(user));
}

async function load({ append = false } = {}) {
  try {
    const page = await api.get("/api/v1/users", {
      q: search.elements.q.value.trim(), role: search.elements.role.value, limit: 50, cursor: append ? nextCursor : null,
    });
    const rows = page.items.map(row);
    if (append) body.append(...rows); else body.replaceChildren(...rows);
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, "No users found.")));
    nextCursor = page.next_cursor;
    more.hidden = !nextCursor;
    document.getElementById("user-count").textContent = `${body.querySelectorAll("tr[data-user-id]").length}${nextCursor ? "+" : ""} users`;
  } catch (error) { toastError(error); }
}

async function changeRole(user, select) {
  const role = select.value;
  const article = role === "admin" ? "an" : "a";
  const sure = await confirmDialog({
    title: `Make ${user.email} ${article} ${role}?`,
    message: "They get the new role's access at once.",
    confirm: `Make ${article} ${role}`,
  });
  if (!sure) {
    select.value = user.role;
    return;
  }
  select.disabled = true;
  try {
    const updated = await api.patch(`/api/v1/users/${user.id}`, { role });
    replaceRow(updated);
    toast(`${updated.email} is now ${role === "admin" ? "an" : "a"} ${role}.`, "success");
  } catch (error) {
    select.value = user.role;
    select.disabled = false;
    toastError(error);
  }
}

async function toggle(user, button) {
  const activate = !user.is_active;
  if (!activate && !(await confirmDialog({
    title: `Deactivate ${user.email}?`,
    message: "They are logged out everywhere at once and cannot log in until reactivated.",
    confirm: "Deactivate", danger: true,
  }))) return;
  await busy(button, async () => {
    try {
      const updated = await api.patch(`/api/v1/users/${user.id}`, { is_active: activate });
      replaceRow(updated);
      toast(`${updated.email} ${activate ? "reactivated" : "deactivated"}.`, "success");
    } catch (error) { toastError(error); }
  });
}

document.getElementById("new-user").addEventListener("click", async () => {
  fillForm(dialog.querySelector("form"), { role: "staff" });
  await openDialog(dialog, {
    onSubmit: async (values) => {
      const user = await api.post("/api/v1/users", values);
      toast(`${user.email} created as ${user.role}.`, "success");
      load();
    },
  });
});
const locks = document.getElementById("locks");

function lockRow(lock) {
  return el("tr", { "data-lock": `${lock.kind}:${lock.key}` },
    el("td", {}, lock.key),
    el("td", {}, lock.kind === "account" ? "Account" : "Address"),
    el("td", {}, formatDate(lock.locked_at)),
    el("td", {}, formatDate(lock.locked_until)),
    el("td", {}, el("button", {
      type: "button", class: "secondary outline", "aria-label": `Lift the lock of ${lock.key}`,
      onclick: (e) => lift(lock, e.currentTarget),
    }, "Lift")));
}

async function loadLocks() {
  try {
    const page = await api.get("/api/v1/auth/locks");
    locks.replaceChildren(...page.items.map(lockRow));
    if (!locks.children.length) locks.append(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "No login locks.")));
  } catch (error) { toastError(error); }
}

async function lift(lock, button) {
  await busy(button, async () => {
    try {
      await api.del(`/api/v1/auth/locks/${lock.kind}/${encodeURIComponent(lock.key)}`);
      toast(`The lock of ${lock.key} is lifted.`, "success");
      loadLocks();
    } catch (error) { toastError(error); }
  });
}

more.addEventListener("click", () => busy(more, () => load({ append: true })));
search.addEventListener("submit", (event) => { event.preventDefault(); load(); });
search.elements.q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 250); });
search.elements.role.addEventListener("change", () => load());
load();
loadLocks();
