// The one client of the JSON API for the browser pages.
//
// The login cookies are HttpOnly, so the script never sees a token: it sends the cookies, and
// for every request that changes something the CSRF double-submit header, whose value is the
// readable `csrf_access_token` cookie. On a 401 it renews the access token once through
// /api/v1/auth/refresh (with `csrf_refresh_token`) and retries; if that fails too, the user
// is sent to the login page and brought back afterwards.

import { randomKey } from "./ui.js";

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
let refreshing = null;

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `Request failed (${status})`);
    this.status = status;
    this.code = error.code || "http_error";
    this.details = error.details || {};
    this.requestId = error.request_id || null;
  }
}

export function cookie(name) {
  const prefix = `${name}=`;
  for (const part of document.cookie.split(";")) {
    const item = part.trim();
    if (item.startsWith(prefix)) return decodeURIComponent(item.slice(prefix.length));
  }
  return null;
}

export function loginUrl() {
  const here = location.pathname + location.search;
  return `/login?next=${encodeURIComponent(here)}`;
}

function withQuery(url, query) {
  if (!query) return url;
  const params = query instanceof URLSearchParams ? query : new URLSearchParams();
  if (!(query instanceof URLSearchParams)) {
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined || value === null || value === "") continue;
      if (Array.isArray(value)) value.forEach((v) => params.append(key, v));
      else params.append(key, value);
    }
  }
  const text = params.toString();
  return text ? `${url}${url.includes("?") ? "&" : "?"}${text}` : url;
}

/** Renew the access cookie from the refresh cookie; true when it worked. Concurrent callers
 *  share one refresh. */
export function refresh() {
  if (!refreshing) {
    refreshing = fetch("/api/v1/auth/refresh", {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-TOKEN": cookie("csrf_refresh_token") || "" },
    })
      .then((response) => response.ok)
      .catch(() => false)
      .finally(() => {
        setTimeout(() => { refreshing = null; }, 0);
      });
  }
  return refreshing;
}

/** One request. Resolves with the parsed body (null for 204), rejects with ApiError. */
export async function request(method, url, { json, query, headers = {}, retry = true } = {}) {
  const init = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", ...headers },
  };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  if (MUTATING.has(method)) init.headers["X-CSRF-TOKEN"] = cookie("csrf_access_token") || "";
  let response;
  try {
    response = await fetch(withQuery(url, query), init);
  } catch (networkError) {
    const error = new ApiError(0, { error: { message: "The server cannot be reached. Check your connection and try again." } });
    error.code = "network_error";
    throw error;
  }
  const isAuthCall = url.startsWith("/api/v1/auth/login") || url.startsWith("/api/v1/auth/register");
  if (response.status === 401 && retry && !isAuthCall) {
    if (await refresh()) return request(method, url, { json, query, headers, retry: false });
    location.assign(loginUrl());
    throw new ApiError(401, { error: { message: "Your session has ended. Please log in again." } });
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export const api = {
  get: (url, query, options = {}) => request("GET", url, { query, ...options }),
  post: (url, json, options = {}) => request("POST", url, { json, ...options }),
  put: (url, json, options = {}) => request("PUT", url, { json, ...options }),
  patch: (url, json, options = {}) => request("PATCH", url, { json, ...options }),
  del: (url, options = {}) => request("DELETE", url, options),
  refresh,
};

/** Every page of a list (follows next_cursor), up to `max` items. */
export async function getAll(url, query = {}, max = 1000) {
  const items = [];
  let cursor = null;
  do {
    const page = await api.get(url, { ...query, limit: 200, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

/** Log out: revoke the login session on the server (its answer clears the cookies). Never
 *  sends the user to the login page: an ended session is logged out already. */
export async function logout() {
  const attempt = () => request("POST", "/api/v1/auth/logout", { json: {}, retry: false });
  try {
    await attempt();
  } catch (error) {
    if (error.status === 401 && (await refresh())) await attempt().catch(() => {});
  }
}

/** True when the server's answer settles a submission: a 2xx or a 4xx that says what is wrong
 *  with it. A network failure (status 0), a 5xx, 408, 429 or the 409 "this Idempotency-Key is
 *  still being processed" leave open whether the first attempt created something. */
export function isDefinite(error) {
  if (!error) return true;
  const status = error.status || 0;
  if (status === 0 || status >= 500 || status === 408 || status === 429) return false;
  if (status === 409 && error.code === "idempotency_in_progress") return false;
  return true;
}

/** One logical submission that must never happen twice (`POST /api/v1/orders`). Every attempt
 *  carries the same Idempotency-Key until the server has given a definite answer (see
 *  isDefinite), so clicking again after a lost response replays the first result instead of
 *  creating a second one; after a definite answer the next send gets a new key. The key is
 *  kept even if the form changed in between: a key the server did use then answers 422, which
 *  is turned into a warning that the earlier attempt may have gone through (and drops the key,
 *  so submitting again after that is the user's informed choice). */
export class IdempotentSubmission {
  constructor(url, { method = "POST", newKey } = {}) {
    this.url = url;
    this.method = method;
    this.newKey = newKey || randomKey;
    this.key = null;
    this.inFlight = null;
  }

  /** Send `body`; resolves with the server's body, rejects with ApiError. A call while an
   *  attempt is running shares that attempt. */
  send(body) {
    if (!this.inFlight) {
      this.inFlight = this.attempt(body).finally(() => { this.inFlight = null; });
    }
    return this.inFlight;
  }

  async attempt(body) {
    this.key = this.key || this.newKey();
    try {
      const result = await request(this.method, this.url, { json: body, headers: { "Idempotency-Key": this.key } });
      this.key = null;
      return result;
    } catch (error) {
      if (isDefinite(error)) this.key = null;
      if (error.status === 409 && !isDefinite(error)) {
        error.message = "Your submission is still being processed. Wait a moment, then submit again.";
      } else if (error.status === 422 && error.details && error.details["Idempotency-Key"]) {
        error.message = "Your earlier submission may already have been received, and the form has changed since. "
          + "Check your orders before submitting again.";
        error.code = "idempotency_key_reused";
        error.details = {};
      }
      throw error;
    }
  }
}
