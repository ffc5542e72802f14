"""A staff dashboard stays right through a Redis restart without dropping its WebSocket (issue
24, item 1): real API, Celery worker, beat and Socket.IO processes; Redis (broker, event
stream, Socket.IO channel) stops while orders are placed and moved, then comes back, with its
data (append-only file) or empty (then the dashboard's catch-up is incomplete: it refetches).

Before: the events committed during the outage were dropped (no stream entry, so a catch-up
was "complete" without them), and the socket process listened again only after its 1, 2, 4,
8, 16 s back-off, never telling the connected dashboard, which kept showing orders pending
until a reload. Now every event reaches the dashboard live or through the catch-up it is told
to make when its socket process listens again (or the catch-up says it is incomplete and the
dashboard refetches), none twice.
"""

from __future__ import annotations

import threading
import time

import pytest
import socketio as sio
import sqlalchemy as sa

from oms.auth.enums import UserRole
from oms.extensions import db
from tests.conftest import TEST_DATABASE_URL
from tests.factories import ADDRESS, PASSWORD, make_product, make_user
from tests.integration.conftest import http
from tests.integration.test_faults import PersistentRedis
from tests.processes import Supervised, free_port, stack_env, start_beat, start_procfile, wait_for

pytestmark = pytest.mark.slow


def _seq(seq: str) -> tuple[int, int]:
    ms, n = seq.split("-")
    return int(ms), int(n)


class Dashboard:
    """What the staff queue page does (oms/static/js/realtime.js): applies order events by id
    (once), catches up from the last seq when told to, refetches when a catch-up is
    incomplete."""

    def __init__(self, url: str, api: str, token: str):
        self.api, self.token = api, token
        self.status: dict[str, str] = {}
        self.applied: dict[str, str | None] = {}  # event id -> seq it came with
        self.stored_twice: list[tuple[str, str | None, str | None]] = []
        self.last_seq: str | None = None
        self.catch_ups: list[bool] = []
        self.refetches = 0
        self.lock = threading.Lock()
        self.client = sio.Client(reconnection=False)
        self.client.on("*", self._event)
        self.client.on("catch_up_needed", self._told_to_catch_up)
        self.client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)

    def _event(self, name, data) -> None:
        if name.startswith("order.") and isinstance(data, dict):
            self.apply(data)

    def apply(self, event: dict) -> None:
        with self.lock:
            seq = event.get("seq")
            if event["id"] in self.applied:
                if self.applied[event["id"]] != seq:  # a second stream entry of one event
                    self.stored_twice.append((event["id"], self.applied[event["id"]], seq))
                return
            self.applied[event["id"]] = seq
            if seq and (self.last_seq is None or _seq(seq) > _seq(self.last_seq)):
                self.last_seq = seq
            if event["type"] == "order.status_changed":
                self.status[event["order_id"]] = event["new_status"]
            elif event["type"] == "order.created":
                self.status.setdefault(event["order_id"], "pending")

    def _told_to_catch_up(self, *_args) -> None:
        # not on the client's reading thread: the answer arrives through it
        threading.Thread(target=self.catch_up, daemon=True).start()

    def catch_up(self) -> None:
        answer = self.client.call("catch_up", {"since": self.last_seq}, timeout=30)
        self.catch_ups.append(answer["complete"])
        if not answer["complete"]:
            self.refetch()
            return
        for event in answer["events"]:
            if event["type"].startswith("order."):
                self.apply(event)

    def refetch(self) -> None:
        status, page = http("GET", f"{self.api}/api/v1/orders?limit=100", None, self.token)
        assert status == 200, page
        with self.lock:
            self.refetches += 1
            self.status.update({order["id"]: order["status"] for order in page["items"]})


def _statuses() -> dict[str, str]:
    db.session.remove()
    rows = db.session.execute(sa.text("SELECT id::text, status FROM orders")).all()
    return dict(rows)


@pytest.mark.parametrize("persistent", [True, False], ids=["aof", "no-persistence"])
def test_a_connected_dashboard_misses_nothing_across_a_redis_restart(app_ctx, tmp_path, persistent):
    server = PersistentRedis(tmp_path, persistent=persistent)
    server.start()
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=server.url,
        broker_url=server.url,
        OMS_OUTBOX_RELAY_SECONDS="1",
        OMS_PENDING_SWEEP_SECONDS="2",
        OMS_WEB_WORKERS="1",
        OMS_INSTANCE_DIR=str(tmp_path),
    )
    worker = Supervised(env, tmp_path)  # restarted if Redis going away makes it exit
    beat = start_beat(env, tmp_path / "beat.log")
    web = start_procfile("web", env, tmp_path / "web.log", web_port := free_port())
    api = f"http://127.0.0.1:{web_port}"
    socket_port = free_port()
    socket = start_procfile("socket", env, tmp_path / "socket.log", socket_port)
    try:
        product = make_product(stock=10_000)
        body = {
            "items": [{"product_id": str(product.id), "quantity": 1}],
            "shipping_address": ADDRESS,
        }
        customers = [_login(api, make_user(UserRole.CUSTOMER)) for _ in range(2)]
        staff = _login(api, make_user(UserRole.STAFF))
        dashboard = Dashboard(f"http://127.0.0.1:{socket_port}", api, staff)

        before = [_place(api, customers[n % 2], body) for n in range(4)]
        assert wait_for(lambda: all(dashboard.status.get(i) == "placed" for i in before), 30)

        server.stop()
        during = []
        for order_id in before[:3]:  # staff keep working: the API commits without Redis
            status, answer = http(
                "PATCH", f"{api}/api/v1/orders/{order_id}/status", {"status": "picked"}, staff
            )
            assert status == 200, answer
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:  # customers keep ordering
            during.append(_place(api, customers[len(during) % 2], body))
            time.sleep(0.2)
        server.start()

        def settled() -> bool:
            truth = _statuses()
            mine = {i: truth[i] for i in before + during}
            return "pending" not in mine.values() and all(
                dashboard.status.get(i) == s for i, s in mine.items()
            )

        settled_in_time = wait_for(settled, 90)
        truth = _statuses()
        stale = {
            i: (dashboard.status.get(i), truth[i])
            for i in before + during
            if dashboard.status.get(i) != truth[i]
        }
        assert settled_in_time, (stale, dashboard.catch_ups, socket.log()[-2000:])
        assert dashboard.client.connected  # it never dropped: it was told to catch up
        assert dashboard.catch_ups, "the socket process never told the dashboard to catch up"
        assert dashboard.stored_twice == []
        if all(dashboard.catch_ups):  # no refetch: every event itself reached the dashboard
            assert len(dashboard.applied) >= 2 * len(before + during) + 3
        print(
            f"LIVE redis-restart persistent={persistent} orders={len(before + during)}"
            f" events={len(dashboard.applied)}"
            f" catch-ups={dashboard.catch_ups} refetches={dashboard.refetches}"
        )
        dashboard.client.disconnect()
    finally:
        for process in (socket, web, beat, worker):
            process.stop()
        server.stop()


def _login(api: str, user) -> str:
    status, body = http(
        "POST", f"{api}/api/v1/auth/login", {"email": user.email, "password": PASSWORD}
    )
    assert status == 200, body
    return body["access_token"]


def _place(api: str, token: str, body: dict) -> str:
    status, answer = http("POST", f"{api}/api/v1/orders", body, token)
    assert status == 202, answer
    return answer["id"]
