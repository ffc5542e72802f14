// The audit log for admins (GET /api/v1/audit). The filters live in the query string, so an
// entity's history is a link; dates are whole days in the browser's time zone.
import { api } from "../api.js";
import { el, fillForm, formatDateTime, showErrors } from "../ui.js";

const form = document.getElementById("audit-filters");
const body = document.getElementById("audit-rows");
const more = document.getElementById("more");
const params = new URLSearchParams(location.search);
let nextCursor = null;

fillForm(form, Object.fromEntries(params));

function dayStart(value, plusDays = 0) {
  if (!value) return null;
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

function query() {
  const get = (name) => (params.get(name) || "").trim() || null;
  return {
    entity_type: get("entity_type"), entity_id: get("entity_id"), actor_id: get("actor_id"),
    created_from: dayStart(get("created_from")), created_to: dayStart(get("created_to"), 1),
  };
}

function show(value) {
  if (value === null || value === undefined) return "–";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function changes(entry) {
  const names = Object.keys({ ...(entry.before || {}), ...(entry.after || {}) });
  if (!names.length) return el("span", { class: "muted" }, "–");
  return el("ul", { class: "changes" }, ...names.map((name) => el("li", {},
    el("strong", {}, name), ": ",
    entry.before && name in entry.before ? el("del", {}, show(entry.before[name])) : null,
    entry.before && name in entry.before && entry.after && name in entry.after ? " → " : null,
    entry.after && name in entry.after ? el("ins", {}, show(entry.after[name])) : null)));
}

function row(entry) {
  const what = [entry.action, entry.entity_id ? el("br") : null,
    entry.entity_id ? el("a", { href: `?entity_id=${entry.entity_id}`, class: "muted" }, `${entry.entity_type} ${entry.entity_id.slice(0, 8)}`) : null];
  return el("tr", { "data-audit-id": entry.id },
    el("td", { "data-label": "When" }, formatDateTime(entry.at)),
    el("td", { "data-label": "Who" }, entry.actor_email || el("span", { class: "muted" }, entry.actor_id ? entry.actor_id.slice(0, 8) : "system or anonymous")),
    el("td", { "data-label": "What" }, ...what),
    el("td", { "data-label": "Changed" }, changes(entry)),
    el("td", { "data-label": "Request", class: "hide-sm" }, el("code", {}, (entry.request_id || "").slice(0, 12)), entry.remote_addr ? ` ${entry.remote_addr}` : ""));
}

async function load({ append = false } = {}) {
  try {
    const page = await api.get("/api/v1/audit", { ...query(), limit: 50, cursor: append ? nextCursor : null });
    const rows = page.items.map(row);
    if (append) body.append(...rows); else body.replaceChildren(...rows);
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "Nothing recorded for these filters.")));
    nextCursor = page.next_cursor;
    more.hidden = !nextCursor;
    document.getElementById("audit-count").textContent = `${body.querySelectorAll("tr[data-audit-id]").length}${nextCursor ? "+" : ""} entries`;
  } catch (error) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "The log could not be read with these filters.")));
    showErrors(form, error);
  }
}

more.addEventListener("click", () => load({ append: true }));
load();
