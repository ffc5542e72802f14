"""Celery settings shared by every worker and beat; the broker URL comes from ``OMS_*``
settings (see ``oms.config``)."""

# Acknowledge after the task ran, and hand the task back if the worker dies mid-way, so a
# crash never loses work; tasks are written to be safe to run twice.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
result_expires = 24 * 3600
timezone = "UTC"
enable_utc = True
broker_connection_retry_on_startup = True
