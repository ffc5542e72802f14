"""Prometheus metrics at ``GET /metrics``.

- ``oms_http_requests_total`` and ``oms_http_request_duration_seconds`` by route and status
  (the route is the URL rule, so ids never explode the label set): under gunicorn, every
  worker's, the dead ones' included (prometheus_client's multiprocess mode: each worker writes
  its counts to a file in ``PROMETHEUS_MULTIPROC_DIR``, set by ``oms.gunicorn``, and a scrape
  adds them up); elsewhere (``flask run``, tests) this process's;
- ``process_*`` (memory, CPU, open files, start time) of every gunicorn process, by ``pid``;
- ``oms_orders`` by status, counted at scrape time;
- ``oms_queue_depth`` per Celery queue, asked of the broker at scrape time;
- ``oms_celery_tasks_total`` by task and outcome (succeeded, failed, retried), counted by the
  workers into Redis (``<namespace>:metrics:tasks``), so any web process reports all workers.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable

import sqlalchemy as sa
from celery import signals
from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    Metric,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from oms.errors import error_response
from oms.extensions import db, limiter
from oms.tasks import QUEUES

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "oms_http_requests", "HTTP requests served", ["method", "route", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "oms_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_local_task_counts: dict[tuple[str, str], int] = {}  # embedded default: no Redis

blp = Blueprint("metrics", __name__)


class _ScrapeTimeCollector:
    """Collects the values read at scrape time, inside the scraping app's context."""

    def collect(self):
        orders = GaugeMetricFamily("oms_orders", "Orders by status", labels=["status"])
        from oms.orders.enums import OrderStatus
        from oms.orders.models import Order

        counts = dict(
            db.session.execute(
                sa.select(Order.status, sa.func.count()).group_by(Order.status)
            ).all()
        )
        for status in OrderStatus:
            orders.add_metric([status.value], counts.get(status, 0))
        yield orders

        depth = GaugeMetricFamily("oms_queue_depth", "Messages waiting per queue", labels=["queue"])
        for queue, n in queue_depths().items():
            depth.add_metric([queue], n)
        yield depth

        tasks = CounterMetricFamily(
            "oms_celery_tasks", "Celery task outcomes", labels=["task", "state"]
        )
        for (task, state), n in sorted(task_counts().items()):
            tasks.add_metric([task, state], n)
        yield tasks
        yield from _stock_drift()


def _stock_drift():
    from oms.ops.reconcile import last_run

    run = last_run()
    for name, text, value in (
        ("oms_stock_drift_products", "Products the last reconcile found drifted", "products"),
        ("oms_stock_drift_units", "Units of drift the last reconcile left", "units"),
        (
            "oms_stock_reconciled_timestamp_seconds",
            "When the stock was last reconciled",
            "checked_at",
        ),
    ):
        gauge = GaugeMetricFamily(name, text)
        gauge.add_metric([], run.get(value, 0))
        yield gauge
    repairs = CounterMetricFamily("oms_stock_repairs", "Stock counters the reconciler set right")
    repairs.add_metric([], run["repairs_total"])
    yield repairs


def _gunicorn_pids() -> list[int]:
    """This process, and under gunicorn its master and the master's other workers."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return [os.getpid()]
    master = os.getppid()
    try:
        with open(f"/proc/{master}/task/{master}/children") as children:
            workers = [int(pid) for pid in children.read().split()]
    except OSError:  # no /proc (not Linux): this worker alone
        workers = [os.getpid()]
    return [master, *workers]


def _constant(pid: int) -> Callable[[], int]:
    return lambda: pid


class _ProcessesCollector:
    """prometheus_client's process metrics for each process serving this port, by ``pid``
    (its own collector reads one process and knows no label)."""

    def collect(self):
        families: dict[str, Metric] = {}
        for pid in _gunicorn_pids():
            for family in ProcessCollector(pid=_constant(pid), registry=None).collect():
                merged = families.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type)
                )
                for sample in family.samples:
                    merged.add_sample(sample.name, {"pid": str(pid)}, sample.value)
        yield from families.values()


_SCRAPE_TIME = _ScrapeTimeCollector()
_PROCESSES = _ProcessesCollector()
REGISTRY.register(_SCRAPE_TIME)
REGISTRY.register(_PROCESSES)


def _registry() -> CollectorRegistry:
    """What a scrape reads: under gunicorn every worker's request metrics, added up from
    their files (a registry per scrape, as prometheus_client's multiprocess mode asks)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(_SCRAPE_TIME)
    registry.register(_PROCESSES)
    return registry


def queue_depths() -> dict[str, int]:
    """Messages waiting in each queue, asked of the broker (Redis or RabbitMQ) at scrape time;
    -1 when the broker does not answer."""
    celery = current_app.extensions["celery"]
    if celery.conf.task_always_eager:
        return {queue: 0 for queue in QUEUES}
    depths = {}
    try:
        with celery.connection_for_read() as connection:
            channel = connection.default_channel
            for queue in QUEUES:
                try:
                    depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
                except Exception:  # a queue nobody declared yet holds nothing
                    depths[queue] = 0
                    channel = connection.channel()
    except Exception:
        return {queue: -1 for queue in QUEUES}
    return depths


def task_counts() -> dict[tuple[str, str], int]:
    """Task outcomes by (task name, state): counted in Redis by every worker, or in this
    process when there is no Redis."""
    from oms.redis_store import redis_client, redis_key

    client = redis_client()
    if client is None:
        return dict(_local_task_counts)
    raw = client.hgetall(redis_key("metrics", "tasks"))
    counts = {}
    for field, value in raw.items():
        task, _, state = (field.decode() if isinstance(field, bytes) else field).rpartition("|")
        counts[(task, state)] = int(value)
    return counts


def count_task(task_name: str, state: str) -> None:
    """Add one outcome of ``task_name`` to the shared counters."""
    from oms.redis_store import redis_client, redis_key

    client = redis_client()
    if client is None:
        _local_task_counts[(task_name, state)] = _local_task_counts.get((task_name, state), 0) + 1
    else:
        client.hincrby(redis_key("metrics", "tasks"), f"{task_name}|{state}", 1)


def _on_task(state: str):
    def handler(sender=None, **_kwargs):
        name = getattr(sender, "name", None) or "unknown"
        app = getattr(sender, "_oms_flask_app", None)
        if app is None:
            return
        with app.app_context():
            count_task(name, state)

    return handler


_HANDLERS = {state: _on_task(state) for state in ("succeeded", "failed", "retried")}
signals.task_success.connect(_HANDLERS["succeeded"], weak=False)
signals.task_failure.connect(_HANDLERS["failed"], weak=False)
signals.task_retry.connect(_HANDLERS["retried"], weak=False)


def observe_request(response) -> None:
    """Count and time the current request (called once per request by the request logger)."""
    route = request.url_rule.rule if request.url_rule else "unmatched"
    started = getattr(g, "request_started", None)
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    if started is not None:
        LATENCY.labels(request.method, route).observe(time.perf_counter() - started)


@blp.get("/metrics")
@limiter.exempt
def metrics():
    """Prometheus text format; with ``OMS_METRICS_TOKEN`` set, a Bearer token is required."""
    token = current_app.config.get("OMS_METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return error_response(401, "authentication_error", "A metrics token is required.")
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)


def register_metrics(app: Flask) -> None:
    """Serve ``/metrics``."""
    app.register_blueprint(blp)
