"""Events leave through the outbox (issue 24, item 1a): an event committed while Redis is away
was dropped (``deliver`` logged a warning), so a client catching up got ``complete: true``
without it. Now it waits in the outbox, the relay stores it once Redis is back (in commit
order, once), and until then no catch-up says it is complete."""

from __future__ import annotations

import pytest

from oms import create_app, events
from oms.auth.enums import UserRole
from oms.orders import actions as orders
from oms.orders.enums import OrderStatus
from oms.outbox import service as outbox
from tests.conftest import make_test_config
from tests.factories import make_order, make_product, make_user
from tests.integration.test_faults import PersistentRedis
from tests.outbox import transaction_without_dispatch
from tests.processes import wait_for


def _mine(order_id) -> list[tuple[str, str | None]]:
    """This order's events after nothing, as the stream holds them."""
    return [
        (e["type"], e.get("new_status"))
        for e in events.read_since(None)
        if e.get("order_id") == str(order_id)
    ]


@pytest.mark.usefixtures("_database")
def test_events_committed_while_redis_is_away_reach_the_stream_in_order_once(
    app, tmp_path, monkeypatch
):
    monkeypatch.setattr(events, "_relay_only_until", 0.0, raising=False)  # restored after
    server = PersistentRedis(tmp_path, persistent=True)  # the stream outlives the restart
    server.start()
    live = create_app(make_test_config(OMS_REDIS_URL=server.url))
    heard: list[dict] = []
    unsubscribe = events.subscribe(heard.append)
    try:
        with live.app_context():
            staff = make_user(UserRole.STAFF)
            order = make_order(make_user(UserRole.CUSTOMER), [(make_product(stock=3), 1)])
            since = events.read_since(None)[-1]["seq"]
            assert _mine(order.id)[-1] == ("order.status_changed", "placed")

            server.stop()
            for status in (OrderStatus.PICKED, OrderStatus.SHIPPED):  # the API answers 200
                orders.change_status(order_id=order.id, actor=staff, status=status)
            with transaction_without_dispatch():  # and a process that dies after its commit
                orders.change_status(order_id=order.id, actor=staff, status=OrderStatus.DELIVERED)
            server.start()

            def incomplete() -> bool:
                return events.catch_up(since, keep=lambda e: True).complete is False

            assert wait_for(incomplete, 5)  # they are not in the stream: no one may think so
            assert [e for e in heard if e.get("new_status") in ("picked", "shipped")] == []

            assert outbox.relay(min_age_seconds=0) >= 3
            outbox.relay(min_age_seconds=0)  # a second pass stores nothing again
            caught_up = events.catch_up(since, keep=lambda e: e.get("order_id") == str(order.id))
            assert [(e["type"], e.get("new_status")) for e in caught_up.events] == [
                ("order.status_changed", "picked"),
                ("order.status_changed", "shipped"),
                ("order.status_changed", "delivered"),
            ]
            assert wait_for(lambda: events.catch_up(since, keep=lambda e: True).complete, 5)
            stored = [e["id"] for e in events.read_since(None)]
            assert len(stored) == len(set(stored))  # each event once in the stream
            live_heard = [
                e["new_status"]
                for e in heard
                if e.get("order_id") == str(order.id) and e["type"] == "order.status_changed"
            ]
            assert live_heard[-3:] == ["picked", "shipped", "delivered"]
            assert len(live_heard) == len(set(live_heard))  # and handed out once
    finally:
        unsubscribe()
        server.stop()


@pytest.mark.usefixtures("_database")
def test_after_redis_lost_its_data_only_the_events_it_never_got_are_stored(
    app, tmp_path, monkeypatch
):
    """Redis restarted without persistence: the events stored before it went away are gone
    from the stream (catch-ups from before are incomplete); the relay stores the ones whose
    process noted it could not, and not those stored before, which live clients had heard."""
    monkeypatch.setattr(events, "_relay_only_until", 0.0, raising=False)
    server = PersistentRedis(tmp_path, persistent=False)
    server.start()
    live = create_app(make_test_config(OMS_REDIS_URL=server.url))
    heard: list[dict] = []
    unsubscribe = events.subscribe(heard.append)
    try:
        with live.app_context():
            staff = make_user(UserRole.STAFF)
            order = make_order(make_user(UserRole.CUSTOMER), [(make_product(stock=3), 1)])
            since = events.read_since(None)[-1]["seq"]  # heard live; their rows not relayed yet
            server.stop()
            orders.change_status(order_id=order.id, actor=staff, status=OrderStatus.PICKED)
            server.start()  # empty

            assert outbox.relay(min_age_seconds=0) >= 1
            assert _mine(order.id) == [("order.status_changed", "picked")]
            assert events.catch_up(since, keep=lambda e: True).complete is False
            ids = [e["id"] for e in heard]
            assert len(ids) == len(set(ids))  # nothing handed out twice
            assert [e.get("new_status") for e in heard if e.get("order_id") == str(order.id)][
                -1
            ] == "picked"
    finally:
        unsubscribe()
        server.stop()
