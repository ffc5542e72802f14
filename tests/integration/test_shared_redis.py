"""Two deployments on one Redis server (different db numbers) never hear each other.

Redis pub/sub ignores the db number, so without a per-deployment namespace the Socket.IO
channel of one deployment carries the other's events. Both web processes here share the test
database (so the same logins work on both); what is under test is everything in Redis.
"""

from __future__ import annotations

import pytest

from oms.auth.enums import UserRole
from tests.conftest import TEST_DATABASE_URL
from tests.factories import ADDRESS, make_product, make_user
from tests.integration.conftest import http
from tests.integration.test_realtime import Listener, _login
from tests.processes import PrivateRedis, free_port, stack_env, start_web, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def two_deployments(tmp_path):
    server = PrivateRedis()
    server.start()
    webs, urls = [], []
    try:
        for db_number in (10, 11):
            redis_url = f"redis://127.0.0.1:{server.port}/{db_number}"
            port = free_port()
            env = stack_env(
                database_url=TEST_DATABASE_URL, redis_url=redis_url, broker_url="memory://"
            )
            webs.append(start_web(env, tmp_path / f"web-{db_number}.log", port))
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for web in webs:
            web.stop()
        server.stop()


def test_an_order_on_one_deployment_is_not_heard_on_the_other(app_ctx, two_deployments):
    first, second = two_deployments
    staff = make_user(UserRole.STAFF)
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=5)
    on_first = Listener(first, _login(first, staff))
    on_second = Listener(second, _login(second, staff))
    try:
        token = _login(first, customer)
        body = {
            "items": [{"product_id": str(product.id), "quantity": 1}],
            "shipping_address": ADDRESS,
        }
        status, order = http("POST", f"{first}/api/v1/orders", body, token)
        assert status == 202, order

        # the deployment that took the order hears it: the other had every chance to as well
        assert wait_for(lambda: on_first.of("order.created", order_id=order["id"]), 10)
        assert not on_second.of("order.created"), on_second.events
        assert [e["_name"] for e in on_second.events] == ["welcome"], on_second.events

        caught_up_first = on_first.client.call("catch_up", {"since": None}, timeout=10)
        caught_up_second = on_second.client.call("catch_up", {"since": None}, timeout=10)
        assert caught_up_first["complete"] and caught_up_second["complete"]
        assert [e for e in caught_up_first["events"] if e.get("order_id") == order["id"]]
        assert not [e for e in caught_up_second["events"] if e.get("order_id") == order["id"]]
    finally:
        on_first.close()
        on_second.close()
