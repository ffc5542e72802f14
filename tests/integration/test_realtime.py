"""Socket.IO over the network: authentication, rooms, relay from the worker, catch-up."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import socketio as sio
from flask_jwt_extended import create_access_token

from oms.auth.enums import UserRole
from tests.factories import ADDRESS, PASSWORD, make_product, make_user
from tests.integration.conftest import http
from tests.processes import wait_for

pytestmark = pytest.mark.slow


class Listener:
    """A python-socketio client that records every event it receives."""

    def __init__(self, url: str, token: str | None, *, transports: list[str] | None = None):
        self.client = sio.Client(reconnection=False)
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.client.on("*", self._record)
        self.client.connect(
            url,
            auth={"token": token} if token else None,
            transports=transports,
            wait_timeout=10,
        )

    def _record(self, name, data):
        with self.lock:
            self.events.append({"_name": name, **(data if isinstance(data, dict) else {})})

    def of(self, kind: str, **match) -> list[dict]:
        with self.lock:
            return [
                e
                for e in self.events
                if e["_name"] == kind and all(e.get(k) == v for k, v in match.items())
            ]

    def close(self):
        self.client.disconnect()


def _login(web, user) -> str:
    status, body = http(
        "POST", f"{web}/api/v1/auth/login", {"email": user.email, "password": PASSWORD}
    )
    assert status == 200, body
    return body["access_token"]


def test_connection_needs_a_valid_unrevoked_token(app_ctx, worker, web):
    user = make_user(UserRole.CUSTOMER)
    for token in (
        None,
        "not-a-jwt",
        create_access_token(identity=str(user.id), expires_delta=timedelta(seconds=-5)),
    ):
        with pytest.raises(sio.exceptions.ConnectionError):
            Listener(web, token)
    token = _login(web, user)
    Listener(web, token).close()  # valid: accepted
    assert http("POST", f"{web}/api/v1/auth/logout", {}, token)[0] == 200
    with pytest.raises(sio.exceptions.ConnectionError):
        Listener(web, token)


def test_events_reach_exactly_the_rooms_that_may_see_them(app_ctx, worker, web):
    alice, bob = make_user(UserRole.CUSTOMER), make_user(UserRole.CUSTOMER)
    staff = make_user(UserRole.STAFF)
    product = make_product(stock=10)
    alice_token = _login(web, alice)
    listeners = {
        "alice": Listener(web, alice_token),
        "bob": Listener(web, _login(web, bob)),
        "staff": Listener(web, _login(web, staff)),
    }
    try:
        # bob asks to join the staff room and alice's room: there is no such thing
        listeners["bob"].client.emit("join", {"room": "staff"})
        listeners["bob"].client.emit("join_room", {"room": f"customer:{alice.customer.id}"})

        status, order = http(
            "POST",
            f"{web}/api/v1/orders",
            {
                "items": [{"product_id": str(product.id), "quantity": 1}],
                "shipping_address": ADDRESS,
            },
            alice_token,
        )
        assert status == 202, order
        # placed by the worker process: its event travels through Redis to the web process
        for who in ("alice", "staff"):
            assert wait_for(
                lambda who=who: listeners[who].of(
                    "order.status_changed", order_id=order["id"], new_status="placed"
                ),
                20,
            ), (who, listeners[who].events)
            created = listeners[who].of("order.created", order_id=order["id"])
            assert len(created) == 1 and created[0]["version"] == 1 and created[0]["seq"]
        assert wait_for(lambda: listeners["alice"].of("product.availability"), 10)
        assert listeners["alice"].of("product.stock_changed") == []  # counters: staff only
        assert wait_for(lambda: listeners["staff"].of("product.stock_changed"), 10)
        assert listeners["bob"].of("order.created") == []
        assert listeners["bob"].of("order.status_changed") == []
        assert all(not e["_name"].startswith("order.") for e in listeners["bob"].events)

        # a fresh connection catches up on what it missed, limited to what it may see
        late_bob = sio.Client(reconnection=False)
        late_bob.connect(web, auth={"token": _login(web, bob)}, wait_timeout=10)
        late_alice = sio.Client(reconnection=False)
        late_alice.connect(web, auth={"token": alice_token}, wait_timeout=10)
        try:
            caught_up_alice = late_alice.call("catch_up", {"since": None}, timeout=10)
            caught_up_bob = late_bob.call("catch_up", {"since": None}, timeout=10)
        finally:
            late_alice.disconnect()
            late_bob.disconnect()
        assert caught_up_alice["complete"] is True and caught_up_bob["complete"] is True
        missed_by_alice, missed_by_bob = caught_up_alice["events"], caught_up_bob["events"]
        assert {e["type"] for e in missed_by_alice} >= {"order.created", "order.status_changed"}
        assert all(e.get("customer_id") in (None, str(alice.customer.id)) for e in missed_by_alice)
        assert [e for e in missed_by_bob if e["type"].startswith("order.")] == []
        # catching up from a seq returns only what came after it
        first = missed_by_alice[0]["seq"]
        late_alice = sio.Client(reconnection=False)
        late_alice.connect(web, auth={"token": alice_token}, wait_timeout=10)
        try:
            after = late_alice.call("catch_up", {"since": first}, timeout=10)
        finally:
            late_alice.disconnect()
        assert after["complete"] is True
        assert [e["seq"] for e in after["events"]] == [e["seq"] for e in missed_by_alice[1:]]
    finally:
        for listener in listeners.values():
            listener.close()


def test_logout_deactivation_and_demotion_end_live_connections(app_ctx, worker, web):
    admin = make_user(UserRole.ADMIN)
    admin_token = _login(web, admin)
    leaving, demoted, deactivated = (make_user(UserRole.STAFF) for _ in range(3))
    tokens = {"leaving": _login(web, leaving), "demoted": _login(web, demoted)}
    tokens["deactivated"] = _login(web, deactivated)
    sockets = {name: Listener(web, token) for name, token in tokens.items()}
    bystander = Listener(web, _login(web, make_user(UserRole.STAFF)))
    try:
        assert all(s.client.connected for s in sockets.values())
        assert http("POST", f"{web}/api/v1/auth/logout", {}, tokens["leaving"])[0] == 200
        users = f"{web}/api/v1/users"
        for user, change in ((demoted, {"role": "customer"}), (deactivated, {"is_active": False})):
            assert http("PATCH", f"{users}/{user.id}", change, admin_token)[0] == 200
        for name, listener in sockets.items():
            assert wait_for(lambda listener=listener: not listener.client.connected, 15), name
        assert bystander.client.connected  # nothing happened to this one
    finally:
        for listener in (*sockets.values(), bystander):
            if listener.client.connected:
                listener.close()


def _catch_up(web, token, since) -> dict:
    client = sio.Client(reconnection=False)
    client.connect(web, auth={"token": token}, wait_timeout=10)
    try:
        return client.call("catch_up", {"since": since}, timeout=30)
    finally:
        client.disconnect()


def test_catch_up_finds_a_customers_event_after_many_unrelated_ones(app_ctx, worker, web):
    """Finding 3: the server filtered 1,000 raw events by room, so after 600 restocks a
    customer's own "picked" event was not among what it got."""
    from oms.orders import actions
    from oms.products import service as products

    customer, staff = make_user(UserRole.CUSTOMER), make_user(UserRole.STAFF)
    product = make_product(stock=5)
    other = make_product(stock=10_000)  # 600 restocks: 1,200 events (counters, availability)
    token = _login(web, customer)
    status, order = http(
        "POST",
        f"{web}/api/v1/orders",
        {"items": [{"product_id": str(product.id), "quantity": 1}], "shipping_address": ADDRESS},
        token,
    )
    assert status == 202, order
    placed = []
    assert wait_for(
        lambda: (
            placed.extend(
                e
                for e in _catch_up(web, token, None)["events"]
                if e.get("order_id") == order["id"] and e.get("new_status") == "placed"
            )
            or placed
        ),
        20,
    )
    since = placed[0]["seq"]
    for _ in range(600):
        products.update(product_id=other.id, add_units=1)
    actions.pick_order(order_id=order["id"], actor=staff)

    caught_up = _catch_up(web, token, since)
    assert caught_up["complete"] is True
    assert [
        (e["type"], e.get("new_status"))
        for e in caught_up["events"]
        if e["type"] != "product.availability"  # the placed order's product, on sale
    ] == [("order.status_changed", "picked")]
    # staff may see all 1,200 and the pick: more than one answer holds, so they must refetch
    for_staff = _catch_up(web, _login(web, staff), since)
    assert for_staff["complete"] is False and len(for_staff["events"]) == 1000


def test_catch_up_says_when_the_client_must_refetch(app_ctx, worker, web):
    from oms import events

    staff = make_user(UserRole.STAFF)
    token = _login(web, staff)
    start = events.deliver({"type": "inventory.low_stock", "version": 1})["seq"]
    for _ in range(1001):  # more than one answer holds
        events.deliver({"type": "inventory.low_stock", "version": 1})
    too_many = _catch_up(web, token, start)
    assert too_many["complete"] is False and len(too_many["events"]) == 1000
    # a seq the stream no longer holds (trimmed, or Redis restarted empty): events may be lost
    assert _catch_up(web, token, "1-0")["complete"] is False
    assert _catch_up(web, token, "not-a-seq") == {"events": [], "complete": False}
    last = events.deliver({"type": "inventory.low_stock", "version": 1})["seq"]
    assert _catch_up(web, token, last) == {"events": [], "complete": True}
