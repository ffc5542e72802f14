"""Worker health pushed live to admins: every ``OMS_WORKERS_PUSH_SECONDS`` each process that
serves Socket.IO, while it holds an admin's connection, asks the workers and broker once
(``oms.ops.workers.health``) and emits ``ops.workers`` to its own admin connections (not the
room: with several socket processes each admin gets one copy, from the process holding it).
Not a domain event: it is not stored, catalogued or sent to webhooks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask

from oms.extensions import socketio
from oms.ops import workers
from oms.ops.schemas import WorkerHealthSchema

log = logging.getLogger("oms.realtime")
EVENT = "ops.workers"
_started = threading.Lock()
_running = False


def _push_forever(app: Flask, admin_sids: Callable[[], list[str]]) -> None:
    interval = app.config["OMS_WORKERS_PUSH_SECONDS"]
    while True:
        socketio.sleep(interval)
        sids = admin_sids()
        if not sids:
            continue
        try:
            with app.app_context():
                payload = WorkerHealthSchema().dump(workers.health())
            for sid in sids:
                socketio.emit(EVENT, payload, to=sid)
        except Exception:  # keep pushing; a broker hiccup must not end the loop
            log.exception("worker health push failed")


def start(app: Flask, admin_sids: Callable[[], list[str]]) -> None:
    """Start this process's push loop once (on its first admin connection)."""
    global _running
    with _started:
        if not _running:
            _running = True
            socketio.start_background_task(_push_forever, app, admin_sids)
