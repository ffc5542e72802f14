"""A task that fails for good on a real worker process lands in ``dead_letters`` with its
arguments, error, traceback and worker; its replay sends it again (and it fails again: a new
row) and marks the first row replayed. A task that asks for a retry, or whose pool process
dies under it (run again), is not a dead letter."""

from __future__ import annotations

import os
import signal
from pathlib import Path

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
        assert wait_for(lambda: len(_letters()) == 1, 30), worker.log()[-3000:]
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
        assert wait_for(lambda: len(_letters()) == 2, 30), worker.log()[-3000:]
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
            ), worker.log()[-3000:]
            holder.rollback()
        assert wait_for(
            lambda: (
                db.session.get(Order, order_id, populate_existing=True).status == OrderStatus.PLACED
            ),
            30,
        ), worker.log()[-3000:]
        assert _letters() == []
        db.session.remove()


def _pool_children(worker) -> list[int]:
    """The pids of the worker's pool processes (children of its main process)."""
    pid = worker.popen.pid
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _waiting_on_a_lock() -> int:
    """Sessions of this database waiting for a lock (read in a transaction of its own: a
    transaction sees one snapshot of ``pg_stat_activity``)."""
    with db.engine.connect() as probe:
        return probe.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar_one()


def test_a_task_whose_pool_process_dies_is_run_again_not_dead_lettered(worker, live_app):
    """A pool process killed mid-task (here by a segfault) is ``WorkerLostError`` in the
    worker: the task goes back to the broker (``task_reject_on_worker_lost``) and runs again;
    it never failed for good. The dying process wrote its Python stack to the log first."""
    with live_app.app_context():
        product = make_product(stock=5)
        order = make_order(make_user(), [(product, 1)], status=OrderStatus.PENDING)
        order_id = order.id
        with db.engine.connect() as holder:
            # the reservation blocks on the product's row lock, mid-task
            holder.execute(
                sa.text("SELECT 1 FROM products WHERE id = :id FOR UPDATE"), {"id": product.id}
            )
            with transaction():
                outbox.enqueue(tasks.RESERVE_ORDER, order_id=str(order_id))
            assert wait_for(lambda: _waiting_on_a_lock() > 0, 30), worker.log()[-3000:]
            for pid in _pool_children(worker):
                os.kill(pid, signal.SIGSEGV)
            assert wait_for(lambda: "WorkerLostError" in worker.log(), 30), worker.log()
            log = worker.log()
            assert "Fatal Python error: Segmentation fault" in log, log[-3000:]
            assert "workers/inventory.py" in log  # where the task was: its stack, not a guess
            holder.rollback()
        assert wait_for(
            lambda: (
                db.session.get(Order, order_id, populate_existing=True).status == OrderStatus.PLACED
            ),
            60,
        ), worker.log()[-3000:]
        assert _letters() == []
        db.session.remove()
