"""Celery settings shared by every worker and beat; the broker URL comes from the ``OMS_*``
settings (see ``oms.config``)."""

from kombu import Queue

# Task modules, imported by workers and by the web process (which sends tasks by name).
imports = (
    "workers.inventory",
    "workers.maintenance",
    "workers.notifications",
    "workers.reports",
)

# One queue per kind of work, so a flood of exports never delays reservations. A worker
# started without -Q consumes all of them.
task_queues = (
    Queue("orders"),
    Queue("notifications"),
    Queue("reports"),
    Queue("maintenance"),
)
task_default_queue = "orders"
task_routes = {
    "inventory.*": {"queue": "orders"},
    "notifications.*": {"queue": "notifications"},
    # export housekeeping must not wait behind long exports
    "reports.recover_stale_exports": {"queue": "maintenance"},
    "reports.purge_exports": {"queue": "maintenance"},
    "reports.*": {"queue": "reports"},
    "outbox.*": {"queue": "maintenance"},
    "maintenance.*": {"queue": "maintenance"},
}

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
worker_send_task_events = True
task_send_sent_event = True

beat_schedule = {
    "relay-outbox": {"task": "outbox.relay", "schedule": 5.0},
    "sweep-pending-orders": {"task": "inventory.reserve_pending", "schedule": 30.0},
    "purge-expired": {"task": "maintenance.purge", "schedule": 3600.0},
    "recover-stale-exports": {"task": "reports.recover_stale_exports", "schedule": 60.0},
    "purge-exports": {"task": "reports.purge_exports", "schedule": 3600.0},
}
