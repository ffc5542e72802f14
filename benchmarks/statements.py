"""SQL statements per accepted order and per status transition, through the app in this
process with its tasks run in the same process (Celery's eager mode, the embedded default's
path), every statement counted at the driver with SQLAlchemy's ``before_cursor_execute`` event.

Orders: the request's own transaction (auth, idempotency claim, order, lines, history, outbox
row) ends at its first commit; what follows is the outbox dispatch and the reservation, which
in production run in the relay and the worker.

Transitions: ``PATCH /api/v1/orders/<id>/status`` placed -> picked as staff. What the web
process runs (the request, up to its response) is told apart from the task it queues (the
customer's email, a worker's in production) by Celery's task signals.
"""

from __future__ import annotations

import random
import uuid

import sqlalchemy as sa

from benchmarks import data, stack


def _eager_app():
    return stack.production_app(
        {"CELERY": {"broker_url": "memory://", "task_always_eager": True}},
        OMS_REDIS_URL="",
        OMS_BROKER_URL="memory://",
    )


def count_per_order(orders: int) -> dict:
    """Average statements per accepted order: ``request`` (up to the placement's commit),
    ``worker`` (dispatch and reservation) and ``total``."""
    from oms.extensions import db

    app = _eager_app()
    tokens = data.tokens("customer", limit=10)
    products = data.product_ids()
    client = app.test_client()
    counts = {"request": 0, "total": 0}
    state = {"committed": False, "statements": 0}

    with app.app_context():
        engine = db.engine

        def on_execute(*_args) -> None:
            state["statements"] += 1

        def on_commit(_conn) -> None:
            if not state["committed"]:
                state["committed"] = True
                counts["request"] += state["statements"]

        sa.event.listen(engine, "before_cursor_execute", on_execute)
        sa.event.listen(engine, "commit", on_commit)
        accepted = 0
        try:
            for _ in range(orders):
                state.update(committed=False, statements=0)
                response = client.post(
                    "/api/v1/orders",
                    json={
                        "items": [
                            {"product_id": p, "quantity": 1} for p in random.sample(products, 3)
                        ],
                        "shipping_address": data.ADDRESS,
                    },
                    headers={
                        "Authorization": f"Bearer {random.choice(tokens)}",
                        "Idempotency-Key": uuid.uuid4().hex,
                    },
                )
                if response.status_code != 202:
                    raise AssertionError(f"{response.status_code}: {response.get_data(True)}")
                accepted += 1
                counts["total"] += state["statements"]
        finally:
            sa.event.remove(engine, "before_cursor_execute", on_execute)
            sa.event.remove(engine, "commit", on_commit)
        with stack.engine().connect() as conn:
            pending = conn.execute(
                sa.text("SELECT count(*) FROM orders WHERE status = 'pending'")
            ).scalar_one()
        if pending:
            raise AssertionError(f"{pending} orders were not reserved in-process")
    return {
        "request": counts["request"] / accepted,
        "worker": (counts["total"] - counts["request"]) / accepted,
        "total": counts["total"] / accepted,
    }


def count_per_transition(transitions: int) -> dict:
    """Average statements per ``PATCH .../status`` placed -> picked as staff: ``request``
    (what the web process runs for it: auth, the transaction, the outbox mark, the response),
    ``transaction`` (the part up to its commit), ``worker`` (the notification task it queues)
    and ``total``; ``checkouts`` counts pool checkouts (each one a ping with pre-ping)."""
    from celery.signals import task_postrun, task_prerun

    from oms.extensions import db

    app = _eager_app()
    tokens = data.tokens("staff")
    ids = data.placed_orders(transitions)
    client = app.test_client()
    counts = {"request": 0, "transaction": 0, "worker": 0, "checkouts": 0}
    state = {"committed": False, "in_task": False}

    with app.app_context():
        engine = db.engine

        def on_execute(*_args) -> None:
            if state["in_task"]:
                counts["worker"] += 1
            else:
                counts["request"] += 1
                if not state["committed"]:
                    counts["transaction"] += 1

        def on_commit(_conn) -> None:
            if not state["in_task"]:
                state["committed"] = True

        def on_checkout(*_args) -> None:
            counts["checkouts"] += 1

        def task_started(**_kwargs) -> None:
            state["in_task"] = True

        def task_ended(**_kwargs) -> None:
            state["in_task"] = False

        sa.event.listen(engine, "before_cursor_execute", on_execute)
        sa.event.listen(engine, "commit", on_commit)
        sa.event.listen(engine.pool, "checkout", on_checkout)
        task_prerun.connect(task_started, weak=False)
        task_postrun.connect(task_ended, weak=False)
        try:
            for order_id in ids:
                state["committed"] = False
                response = client.patch(
                    f"/api/v1/orders/{order_id}/status",
                    json={"status": "picked"},
                    headers={"Authorization": f"Bearer {random.choice(tokens)}"},
                )
                if response.status_code != 200 or response.get_json()["status"] != "picked":
                    raise AssertionError(f"{response.status_code}: {response.get_data(True)}")
        finally:
            sa.event.remove(engine, "before_cursor_execute", on_execute)
            sa.event.remove(engine, "commit", on_commit)
            sa.event.remove(engine.pool, "checkout", on_checkout)
            task_prerun.disconnect(task_started)
            task_postrun.disconnect(task_ended)
    with stack.engine().connect() as conn:
        unsent = conn.execute(
            sa.text("SELECT count(*) FROM notifications WHERE sent_at IS NULL")
        ).scalar_one()
    if unsent:
        raise AssertionError(f"{unsent} notifications were not sent in-process")
    figures = {name: n / len(ids) for name, n in counts.items()}
    figures["total"] = figures["request"] + figures["worker"]
    return figures
