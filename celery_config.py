"""Every Celery setting, in one place: the static ones as module attributes, and
:func:`settings_from` for the ones a deployment sets through ``OMS_*`` variables (broker,
result backend, in-process mode, beat intervals; read by ``oms.config``). Task names and
queues come from the registry ``oms.tasks``."""

from kombu import Queue

from oms import tasks

# Task modules, imported by workers and by the web process (which sends tasks by name).
imports = (
    "workers.inventory",
    "workers.maintenance",
    "workers.notifications",
    "workers.ops",
    "workers.reports",
    "workers.webhooks",
)

# One queue per kind of work (oms.tasks), so a flood of exports never delays reservations. A
# worker started without -Q consumes all of them.
task_queues = tuple(Queue(name) for name in tasks.QUEUES)
task_default_queue = "orders"
task_routes = {name: {"queue": queue} for name, queue in tasks.QUEUE_OF.items()}

# Acknowledge after the task ran, and hand the task back if the worker dies mid-way, so a
# crash never loses work; every task is written to be safe to run twice.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1

# Time limits: the soft one raises inside the task so it can clean up.
task_soft_time_limit = 300
task_time_limit = 360
# Redis redelivers an unacknowledged task after the visibility timeout: it must be longer than
# the longest task (exports set their own limits below it), or a slow task would run twice
# at the same time.
broker_transport_options = {
    "visibility_timeout": 2 * 3600,
    # A web request that hands a task to a broker that is down gives up fast: the task is in
    # the outbox and the relay sends it once the broker is back.
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
broker_connection_timeout = 2
result_backend_transport_options = {"visibility_timeout": 2 * 3600}

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
result_expires = 24 * 3600
task_ignore_result = True
timezone = "UTC"
enable_utc = True
broker_connection_retry_on_startup = True
# No task events unless someone watches: each costs a publish per task state. Flower turns
# them on in every worker when it starts (and keeps them on while it runs).
worker_send_task_events = False
task_send_sent_event = False


def beat_schedule_for(
    *,
    relay_seconds: float,
    sweep_seconds: float,
    resend_seconds: float = 60.0,
    webhook_seconds: float = 15.0,
    reconcile_seconds: float = 300.0,
) -> dict:
    """The safety nets and housekeeping beat runs; the intervals are settings."""
    return {
        "send-due-webhooks": {"task": tasks.SEND_DUE_WEBHOOKS, "schedule": webhook_seconds},
        "relay-outbox": {"task": tasks.RELAY_OUTBOX, "schedule": relay_seconds},
        "sweep-pending-orders": {"task": tasks.RESERVE_PENDING_ORDERS, "schedule": sweep_seconds},
        "purge-expired": {"task": tasks.PURGE_EXPIRED, "schedule": 3600.0},
        "recover-stale-exports": {"task": tasks.RECOVER_STALE_EXPORTS, "schedule": 60.0},
        "resend-unsent-notifications": {"task": tasks.RESEND_UNSENT, "schedule": resend_seconds},
        "purge-exports": {"task": tasks.PURGE_EXPORTS, "schedule": 3600.0},
        "reconcile-stock": {"task": tasks.RECONCILE_STOCK, "schedule": reconcile_seconds},
    }


# In-process test apps and a bare `celery -A wsgi` without settings get the defaults.
beat_schedule = beat_schedule_for(relay_seconds=5.0, sweep_seconds=30.0)


def settings_from(
    *,
    broker_url: str | None,
    result_backend: str | None,
    relay_seconds: float,
    sweep_seconds: float,
    resend_seconds: float = 60.0,
    webhook_seconds: float = 15.0,
    reconcile_seconds: float = 300.0,
) -> dict:
    """The deployment's part of the Celery settings. With no broker configured, tasks run
    inside the web process (the embedded default)."""
    return {
        "broker_url": broker_url or "memory://",
        "result_backend": result_backend,
        "task_always_eager": broker_url is None,
        # a task that fails in-process is logged, never raised into the request that
        # committed the change (on a worker it would not reach the request either)
        "task_eager_propagates": False,
        "beat_schedule": beat_schedule_for(
            relay_seconds=relay_seconds,
            sweep_seconds=sweep_seconds,
            resend_seconds=resend_seconds,
            webhook_seconds=webhook_seconds,
            reconcile_seconds=reconcile_seconds,
        ),
    }
