"""Stock reservation tasks (queue ``orders``)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from celery import shared_task
from flask import current_app

from oms import tasks
from oms.errors import ConflictError
from oms.orders import actions
from oms.orders.enums import OrderStatus

# Transient database trouble (connection lost, failover, lock storms) is retried with backoff.
TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError, ConflictError)


@shared_task(
    name=tasks.RESERVE_ORDER,
    bind=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=10,
)
def reserve_order(self, order_id: str) -> str | None:
    """Reserve stock for a pending order (placed or rejected), deciding the oldest pending
    orders with it in one batch (``OMS_RESERVE_BATCH``); a second run changes nothing."""
    status = actions.reserve_with_backlog(
        order_id=uuid.UUID(order_id), batch_size=current_app.config["OMS_RESERVE_BATCH"]
    )
    if status == OrderStatus.PENDING:
        # Another transaction holds the order row (an edit, or another worker): try again soon.
        raise self.retry(countdown=1)
    return status.value if status else None


@shared_task(name=tasks.RESERVE_PENDING_ORDERS, autoretry_for=TRANSIENT, retry_backoff=True)
def reserve_pending_orders(batch_size: int = 200, max_batches: int = 50) -> int:
    """Sweep every pending order in batches (beat safety net, and the flash-sale fast path:
    one transaction reserves a whole batch)."""
    total = 0
    for _ in range(max_batches):
        decided = actions.reserve_orders(limit=batch_size)
        total += len(decided)
        if len(decided) < batch_size:
            break
    return total
