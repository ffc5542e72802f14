"""Socket.IO in the embedded default (no Redis): events still reach the right clients."""

from __future__ import annotations

import pytest

from oms import create_app
from oms.auth.enums import UserRole
from oms.extensions import socketio
from oms.orders import actions as orders
from tests.conftest import make_test_config
from tests.factories import ADDRESS, PASSWORD, make_product, make_user


def _received(client) -> list[tuple[str, dict]]:
    return [(m["name"], m["args"][0]) for m in client.get_received()]


@pytest.mark.usefixtures("_database")
def test_in_process_relay_without_redis(app):
    embedded = create_app(make_test_config(OMS_REDIS_URL=None, RATELIMIT_STORAGE_URI="memory://"))
    with embedded.app_context():
        alice, bob = make_user(UserRole.CUSTOMER), make_user(UserRole.CUSTOMER)
        staff = make_user(UserRole.STAFF)
        product = make_product(stock=5)
        http = embedded.test_client()

        def token(user):
            body = {"email": user.email, "password": PASSWORD}
            return http.post("/api/v1/auth/login", json=body).get_json()["access_token"]

        clients = {
            name: socketio.test_client(embedded, auth={"token": token(user)})
            for name, user in (("alice", alice), ("bob", bob), ("staff", staff))
        }
        anonymous = socketio.test_client(embedded)
        assert not anonymous.is_connected()
        for client in clients.values():
            assert client.is_connected()
            client.get_received()  # drop the welcome

        orders.place_order(
            actor=alice, items=[{"product_id": product.id, "quantity": 1}], shipping_address=ADDRESS
        )
        got = {name: _received(client) for name, client in clients.items()}
        for name in ("alice", "staff"):
            kinds = [
                (kind, e.get("new_status")) for kind, e in got[name] if kind.startswith("order.")
            ]
            assert kinds == [("order.created", None), ("order.status_changed", "placed")], name
        assert [k for k, _ in got["bob"] if k.startswith("order.")] == []
        assert ("inventory.low_stock" in [k for k, _ in got["staff"]]) is True
        assert "inventory.low_stock" not in [k for k, _ in got["alice"]]
        for client in clients.values():
            client.disconnect()


@pytest.mark.usefixtures("_database")
def test_a_logout_drops_the_open_socket_at_once_without_redis(app):
    """Issue 24, item 5, in the embedded default: the re-check runs in-process, at once."""
    from tests.processes import wait_for

    embedded = create_app(
        make_test_config(
            OMS_REDIS_URL=None, RATELIMIT_STORAGE_URI="memory://", OMS_SOCKET_RECHECK_SECONDS=600
        )
    )
    with embedded.app_context():
        user, other = make_user(UserRole.STAFF), make_user(UserRole.STAFF)
        http = embedded.test_client()

        def token(who):
            body = {"email": who.email, "password": PASSWORD}
            return http.post("/api/v1/auth/login", json=body).get_json()["access_token"]

        mine, theirs = token(user), token(other)
        socket = socketio.test_client(embedded, auth={"token": mine})
        bystander = socketio.test_client(embedded, auth={"token": theirs})
        assert socket.is_connected() and bystander.is_connected()
        logout = http.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {mine}"})
        assert logout.status_code == 200
        assert wait_for(lambda: not socket.is_connected(), 5)
        assert bystander.is_connected()
        bystander.disconnect()
