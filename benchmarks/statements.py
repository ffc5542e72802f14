"""SQL statements per accepted order: ``POST /api/v1/orders`` through the app with its
reservation task run in the same process (Celery's eager mode, the embedded default's path),
every statement counted at the driver with SQLAlchemy's ``before_cursor_execute`` event.

The request's own transaction (auth, idempotency claim, order, lines, history, outbox row)
ends at its first commit; what follows is the outbox dispatch and the reservation, which in
production run in the relay and the worker.
"""

from __future__ import annotations

import random
import uuid

import sqlalchemy as sa

from benchmarks import data, stack


def count_per_order(orders: int) -> dict:
    """Average statements per accepted order: ``request`` (up to the placement's commit),
    ``worker`` (dispatch and reservation) and ``total``."""
    from oms.extensions import db

    app = stack.production_app(
        {"CELERY": {"broker_url": "memory://", "task_always_eager": True}},
        OMS_REDIS_URL="",
        OMS_BROKER_URL="memory://",
    )
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
