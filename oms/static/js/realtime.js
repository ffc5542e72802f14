// The real-time updater: one Socket.IO connection per page (the vendored socket.io client, served
// by the app), authenticated by the login cookie.
//
// It shows "Live", "Offline" or "Connecting…" in every [data-live-status] element, reconnects by
// itself, and after a reconnect asks the server for the events it missed (`catch_up` with the last
// `seq` it saw); it does the same when the server says `catch_up_needed` (its socket process
// stopped hearing events for a while, the connection did not drop). When it cannot know what
// it missed (no seq seen yet, or the server answers `complete: false`: too many events, or no
// longer kept), it calls `onResync` so the page refetches its state instead. An event heard
// both live and in a catch-up is handled once (by its id).

import { refresh } from "./api.js";

export class LiveUpdates {
  constructor({ onResync } = {}) {
    this.handlers = new Map();
    this.onResync = onResync || (() => {});
    this.lastSeq = null;
    this.seen = new Set(); // ids of the latest events handled, so none is handled twice
    this.connectedOnce = false;
    this.authRetries = 0;
    this.indicators = document.querySelectorAll("[data-live-status]");
  }

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(handler);
    if (this.socket) this.socket.on(type, (event) => this.dispatch(type, event));
    return this;
  }

  setState(state) {
    const text = { live: "Live", offline: "Offline", connecting: "Connecting…" }[state];
    document.body.dataset.live = state;
    for (const node of this.indicators) {
      node.dataset.state = state;
      node.textContent = text;
      node.title = state === "live" ? "Live updates are on" : "Live updates are paused; reconnecting";
    }
  }

  dispatch(type, event) {
    if (event && event.id) {
      if (this.seen.has(event.id)) return;
      this.seen.add(event.id);
      if (this.seen.size > 2000) this.seen.delete(this.seen.values().next().value);
    }
    if (event && event.seq) this.lastSeq = event.seq;
    for (const handler of this.handlers.get(type) || []) {
      try { handler(event); } catch (error) { console.error("live handler failed", type, error); }
    }
  }

  start() {
    if (typeof window.io !== "function") {
      this.setState("offline");
      return this;
    }
    this.setState("connecting");
    // Where Socket.IO lives: this page's origin, or OMS_SOCKET_URL (`make stack`). Pages of
    // separate socket processes ask for the WebSocket at once (no long-polling round trips).
    const { socketUrl, socketTransport } = document.body.dataset;
    const options = { withCredentials: true, reconnectionDelayMax: 5000 };
    if (socketTransport === "websocket") options.transports = ["websocket"];
    this.socket = socketUrl ? window.io(socketUrl, options) : window.io(options);
    for (const type of this.handlers.keys()) this.socket.on(type, (event) => this.dispatch(type, event));
    this.socket.on("connect", () => this.connected());
    this.socket.on("catch_up_needed", () => this.catchUp());
    this.socket.on("disconnect", () => this.setState("offline"));
    this.socket.on("connect_error", (error) => this.failed(error));
    this.socket.io.on("reconnect_attempt", () => this.setState("connecting"));
    window.addEventListener("online", () => { if (!this.socket.connected) this.socket.connect(); });
    return this;
  }

  connected() {
    this.setState("live");
    this.authRetries = 0;
    const first = !this.connectedOnce;
    this.connectedOnce = true;
    if (first || !this.lastSeq) {
      // Events may have happened between the page's first fetch and this connection.
      this.onResync({ first });
      return;
    }
    this.catchUp();
  }

  catchUp() {
    if (!this.lastSeq) {
      this.onResync({ first: false });
      return;
    }
    this.socket.timeout(10000).emit("catch_up", { since: this.lastSeq }, (error, missed) => {
      if (error || !missed || !Array.isArray(missed.events) || missed.complete !== true) {
        this.onResync({ first: false });
        return;
      }
      for (const event of missed.events) this.dispatch(event.type, event);
    });
  }

  async failed(error) {
    this.setState("offline");
    // A refused connection (expired access cookie) is not retried by the client: renew the
    // cookie and connect again. Network errors are retried by the client itself.
    if (!this.socket.active && this.authRetries < 3) {
      this.authRetries += 1;
      const renewed = await refresh();
      setTimeout(() => this.socket.connect(), renewed ? 100 : 3000 * this.authRetries);
    }
  }
}

/** Start live updates for the page. */
export function live(options) {
  return new LiveUpdates(options);
}
