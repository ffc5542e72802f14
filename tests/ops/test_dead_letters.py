"""A task that fails for good on a real worker process lands in ``dead_letters`` with its
arguments, error, traceback and worker; its replay sends it again (and it fails again: a new
row) and marks the first row replayed. A task that asks for a retry is not a dead letter."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms import metrics, tasks
from oms.db import transaction
from oms.extensions import db
from oms.ops import service
from oms.ops.models import DeadLetter
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from oms.outbox import service as outbox
from tests.factories import make_order, make_product, make_user
from tests.processes import wait_for

pytestmark = pytest.mark.slow  # a worker process


def _letters() -> list[DeadLetter]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(DeadLetter).order_by(DeadLetter.id)))


def test_a_task_failing_for_good_is_kept_and_replayed(worker, live_app):
    with live_app.app_context():
        with transaction():
            outbox.enqueue(tasks.RESERVE_ORDER, order_id="not-an-order-id")
        assert wait_for(lambda: len(_letters()) == 1, 30), worker.log
        (letter,) = _letters()
        assert letter.task == tasks.RESERVE_ORDER
        assert letter.kwargs == {"order_id": "not-an-order-id"}
        assert letter.args == []
        assert letter.error.startswith("ValueError")
        assert "Traceback" in letter.traceback
        assert letter.worker
        assert letter.task_id
        assert letter.replayed_at is None

        result = service.replay(kind="dead_letter", problem_id=str(letter.id))
        assert result["action"] == "task inventory.reserve_order sent again"
        assert wait_for(lambda: len(_letters()) == 2, 30), worker.log
        first, second = _letters()
        assert first.replayed_at is not None
        assert second.replayed_at is None
        assert second.kwargs == first.kwargs
        assert second.task_id != first.task_id
        db.session.remove()


def test_a_task_that_retries_and_then_succeeds_is_no_dead_letter(worker, live_app):
    with live_app.app_context():
        order = make_order(make_user(), [(make_product(stock=5), 1)], status=OrderStatus.PENDING)
        order_id = order.id
        retried = metrics.task_counts().get((tasks.RESERVE_ORDER, "retried"), 0)
        with db.engine.connect() as holder:
            # another transaction holds the order row: reserve_order raises Retry meanwhile
            holder.execute(
                sa.text("SELECT 1 FROM orders WHERE id = :id FOR UPDATE"), {"id": order_id}
            )
            with transaction():
                outbox.enqueue(tasks.RESERVE_ORDER, order_id=str(order_id))
            assert wait_for(
                lambda: metrics.task_counts().get((tasks.RESERVE_ORDER, "retried"), 0) > retried,
                30,
            ), worker.log
            holder.rollback()
        assert wait_for(
            lambda: (
                db.session.get(Order, order_id, populate_existing=True).status == OrderStatus.PLACED
            ),
            30,
        ), worker.log
        assert _letters() == []
        db.session.remove()
