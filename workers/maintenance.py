"""Housekeeping tasks run by beat (queue ``maintenance``)."""

from __future__ import annotations

from celery import shared_task

from oms import tasks
from oms.auth import service as auth_service
from oms.ops import reconcile
from oms.ops import service as ops
from oms.orders import idempotency
from oms.outbox import service as outbox


@shared_task(name=tasks.RELAY_OUTBOX)
def relay_messages() -> int:
    """Send outbox messages that their own after-commit dispatch did not (crash, broker down)."""
    return outbox.relay()


@shared_task(name=tasks.PURGE_EXPIRED)
def purge_expired() -> dict:
    """Forget expired token revocations and idempotency keys, old sent outbox rows and dead
    letters replayed long ago."""
    return {
        "revocations": auth_service.purge_expired_revocations(),
        "idempotency_keys": idempotency.purge_expired(),
        "outbox": outbox.purge_sent(),
        "dead_letters": ops.purge_replayed(),
    }


@shared_task(name=tasks.RECONCILE_STOCK)
def reconcile_stock() -> dict:
    """Compare every product's reserved units with its orders; report drift, repair if allowed."""
    result = reconcile.reconcile()
    return {key: result[key] for key in ("products", "units", "repaired")}
