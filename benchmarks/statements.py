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


class StatementCounter:
    """Statements counted at the driver (every cursor execute) while it listens, told apart by
    who runs them: ``request`` (the web process), of them ``transaction`` (up to the request's
    first commit), ``worker`` (inside Celery tasks, eager ones included: a worker's share in
    production), ``checkouts`` (pool checkouts, each one a ping with pre-ping) and of them
    ``request_checkouts`` (the web process's).
    :meth:`next_request` starts a new request's transaction. Used as a context manager on an
    engine; also by the tests that bound these figures (tests/orders/test_status_statements.py)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.counts = dict.fromkeys(
            ("request", "transaction", "worker", "checkouts", "request_checkouts"), 0
        )
        self.statements: list[str] = []
        self._committed = False
        self._in_task = False

    def next_request(self) -> None:
        """What follows is another request, with a transaction of its own."""
        self._committed = False

    def _on_execute(self, _conn, _cursor, statement, *_args) -> None:
        if self._in_task:
            self.counts["worker"] += 1
            return
        self.counts["request"] += 1
        self.statements.append(statement)
        if not self._committed:
            self.counts["transaction"] += 1

    def _on_commit(self, _conn) -> None:
        if not self._in_task:
            self._committed = True

    def _on_checkout(self, *_args) -> None:
        self.counts["checkouts"] += 1
        if not self._in_task:
            self.counts["request_checkouts"] += 1

    def _task_started(self, **_kwargs) -> None:
        self._in_task = True

    def _task_ended(self, **_kwargs) -> None:
        self._in_task = False

    def __enter__(self) -> StatementCounter:
        from celery.signals import task_postrun, task_prerun

        sa.event.listen(self.engine, "before_cursor_execute", self._on_execute)
        sa.event.listen(self.engine, "commit", self._on_commit)
        sa.event.listen(self.engine.pool, "checkout", self._on_checkout)
        task_prerun.connect(self._task_started, weak=False)
        task_postrun.connect(self._task_ended, weak=False)
        return self

    def __exit__(self, *_exc) -> None:
        from celery.signals import task_postrun, task_prerun

        sa.event.remove(self.engine, "before_cursor_execute", self._on_execute)
        sa.event.remove(self.engine, "commit", self._on_commit)
        sa.event.remove(self.engine.pool, "checkout", self._on_checkout)
        task_prerun.disconnect(self._task_started)
        task_postrun.disconnect(self._task_ended)


def count_per_transition(transitions: int) -> dict:
    """Average statements per ``PATCH .../status`` placed -> picked as staff: ``request``
    (what the web process runs for it: auth, the transaction, anything after its commit),
    ``transaction`` (the part up to its commit), ``worker`` (the notification task it queues)
    and ``total``; ``checkouts`` counts pool checkouts (each one a ping with pre-ping)."""
    from oms.extensions import db

    app = _eager_app()
    tokens = data.tokens("staff")
    ids = data.placed_orders(transitions)
    client = app.test_client()

    with app.app_context(), StatementCounter(db.engine) as counter:
        for order_id in ids:
            counter.next_request()
            response = client.patch(
                f"/api/v1/orders/{order_id}/status",
                json={"status": "picked"},
                headers={"Authorization": f"Bearer {random.choice(tokens)}"},
            )
            # the end of the request's app context, as in production (here an app context is
            # held around the loop, which the test client then reuses)
            db.session.remove()
            if response.status_code != 200 or response.get_json()["status"] != "picked":
                raise AssertionError(f"{response.status_code}: {response.get_data(True)}")
    with stack.engine().connect() as conn:
        unsent = conn.execute(
            sa.text("SELECT count(*) FROM notifications WHERE sent_at IS NULL")
        ).scalar_one()
    if unsent:
        raise AssertionError(f"{unsent} notifications were not sent in-process")
    figures = {name: n / len(ids) for name, n in counter.counts.items()}
    figures["total"] = figures["request"] + figures["worker"]
    return figures
