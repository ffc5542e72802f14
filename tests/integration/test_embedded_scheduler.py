"""The embedded default (no Redis, no broker: ``make run``) runs beat's periodic work in the
web process itself (issue 24, item 8): a pending order left by a lost task is swept, and a
webhook delivery that failed is retried."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from oms.webhooks import service as webhooks
from tests.conftest import sqlite_app
from tests.factories import make_order, make_product, make_user
from tests.processes import free_port, ready, stack_env, start_web, wait_for
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.slow


def test_the_embedded_default_retries_webhooks_and_sweeps_pending_orders(tmp_path):
    receiver = Receiver(tmp_path)
    database = tmp_path / "oms.sqlite3"
    app = sqlite_app(database, OMS_WEBHOOKS_ALLOW_PRIVATE=True)
    with app.app_context():
        upgrade()
        endpoint = webhooks.create(url=receiver.url, event_types=["order.status_changed"])
        receiver.secret(endpoint.secret)
        receiver.rules(fail=1)  # the first attempt fails: only a retry delivers it
        customer = make_user(UserRole.CUSTOMER)
        order_id = make_order(customer, [(make_product(stock=5), 1)], status="pending").id
        db.session.remove()
    env = stack_env(
        database_url=f"sqlite:///{database}",
        redis_url="",
        broker_url="",
        OMS_INSTANCE_DIR=str(tmp_path),
        # the key the test's app stored the endpoint's secret under (its own instance folder's
        # secret would give another)
        OMS_WEBHOOKS_ENCRYPTION_KEYS=",".join(app.config["OMS_WEBHOOKS_ENCRYPTION_KEYS"]),
        OMS_PENDING_SWEEP_SECONDS="1",
        OMS_WEBHOOKS_SWEEP_SECONDS="1",
        OMS_WEBHOOKS_RETRY_BASE_SECONDS="1",
    )
    env.pop("OMS_EMBEDDED_SCHEDULER", None)  # the default: on
    web = start_web(env, tmp_path / "web.log", port := free_port())
    try:
        assert ready(port)  # a first request, as a visitor's would be

        def status() -> OrderStatus:
            with app.app_context():
                try:
                    return db.session.get(Order, order_id).status
                finally:
                    db.session.remove()

        assert wait_for(lambda: status() == OrderStatus.PLACED, 30), (status(), web.log()[-3000:])

        def answers() -> list[int]:
            return [
                r["status"] for r in receiver.requests() if r["body"].get("new_status") == "placed"
            ]

        # placed by the sweep: its webhook failed once, then the retry delivered it
        assert wait_for(lambda: answers() == [500, 200], 30), (
            receiver.requests(),
            web.log()[-3000:],
        )
    finally:
        web.stop()
        receiver.stop()
