"""Worker health for admins (``GET /api/v1/ops/workers``, /admin/workers) and for ``/readyz``.

The workers come from Celery's own remote control (``inspect().stats()`` and ``active()``, a
broadcast each that waits ``OMS_WORKER_INSPECT_TIMEOUT`` for replies), the queue depths from
the broker (``oms.metrics.queue_depths``: Redis or RabbitMQ), the task outcomes from the
counters every worker keeps in Redis (``oms.metrics.task_counts``). Any of them failing is
reported as such, never raised: this is what an operator opens when things are broken.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import current_app

from oms import metrics

log = logging.getLogger("oms.ops")


def _celery():
    return current_app.extensions["celery"]


def embedded() -> bool:
    """Tasks run inside the web process (no broker, no workers to ask)."""
    return bool(_celery().conf.task_always_eager)


def _timeout() -> float:
    return current_app.config["OMS_WORKER_INSPECT_TIMEOUT"]


def _started(task: dict) -> str | None:
    started = task.get("time_start")
    return datetime.fromtimestamp(started, UTC).isoformat() if started else None


def _workers() -> tuple[list[dict], str | None]:
    inspect = _celery().control.inspect(timeout=_timeout())
    try:
        stats = inspect.stats() or {}
        active = inspect.active() or {}
    except Exception as exc:  # the broker is down or refused us: say so on the page
        log.warning("worker inspection failed", extra={"error": repr(exc)})
        return [], f"{exc.__class__.__name__}: {exc}"
    workers = []
    for name in sorted(set(stats) | set(active)):
        info = stats.get(name, {})
        running = active.get(name, [])
        pool = info.get("pool") or {}
        workers.append(
            {
                "name": name,
                "pid": info.get("pid"),
                "concurrency": pool.get("max-concurrency"),
                "uptime_seconds": info.get("uptime"),
                "processed": sum((info.get("total") or {}).values()),
                "active": [
                    {"id": t.get("id"), "name": t.get("name"), "started_at": _started(t)}
                    for t in running
                ],
            }
        )
    return workers, None


def _tasks() -> list[dict]:
    by_task: dict[str, dict] = {}
    for (task, state), n in metrics.task_counts().items():
        row = by_task.setdefault(task, {"name": task, "succeeded": 0, "failed": 0, "retried": 0})
        if state in row:
            row[state] = n
    return [by_task[name] for name in sorted(by_task)]


def health() -> dict:
    """Workers, queue depths and task outcomes as of now, with the Flower link."""
    workers, error = ([], None) if embedded() else _workers()
    try:
        tasks = _tasks()
    except Exception as exc:  # Redis away: the rest of the page still helps
        log.warning("task counters unreadable", extra={"error": repr(exc)})
        tasks = []
    return {
        "sampled_at": datetime.now(UTC),
        "embedded": embedded(),
        "broker": "in-process" if embedded() else _celery().conf.broker_url.split(":", 1)[0],
        "inspect_error": error,
        "workers": workers,
        "queues": [{"name": q, "depth": n} for q, n in metrics.queue_depths().items()],
        "tasks": tasks,
        "flower_url": current_app.config["OMS_FLOWER_URL"],
    }


def readiness() -> str | None:
    """The ``workers`` check of ``/readyz``: "ok" when a worker answers a ping, a reason when
    none does; None in the embedded default (no workers to have)."""
    if embedded():
        return None
    try:
        replies = _celery().control.ping(timeout=_timeout(), limit=1)
    except Exception as exc:
        return f"degraded: broker {exc.__class__.__name__}"
    return "ok" if replies else "degraded: no worker answers"
