"""`make stack`'s topology in Chromium: pages served by an API process, their live connection
to the separate Socket.IO process on its own port (OMS_SOCKET_URL), authenticated by the login
cookie, allowed by the Content-Security-Policy and the socket process's allowed origins."""

from __future__ import annotations

import pytest

from oms.auth.enums import UserRole
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.e2e.conftest import Session
from tests.e2e.test_csp import WATCH_VIOLATIONS
from tests.factories import PASSWORD, make_user
from tests.processes import free_port, stack_env, start_procfile

pytestmark = pytest.mark.slow


def test_pages_go_live_through_the_socket_process_on_its_own_port(app_ctx, browser, tmp_path):
    api, socket = free_port(), free_port()
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_WEB_WORKERS="1",
        OMS_SOCKET_URL=f"http://127.0.0.1:{socket}",
        OMS_SOCKET_ALLOWED_ORIGINS=f"http://127.0.0.1:{api}",
    )
    processes = [
        start_procfile("web", env, tmp_path / "web.log", api),
        start_procfile("socket", env, tmp_path / "socket.log", socket),
    ]
    session = Session(browser, f"http://127.0.0.1:{api}")
    try:
        session.page.add_init_script(WATCH_VIOLATIONS)
        session.login(make_user(UserRole.STAFF).email, PASSWORD, "/staff")
        session.wait_live()
        assert session.page.evaluate("window.__cspViolations") == []
        assert session.errors == []
    finally:
        session.context.close()
        for process in processes:
            process.stop()


def test_worker_health_is_pushed_by_the_gevent_socket_process(app_ctx, browser, worker, tmp_path):
    """The socket process (gevent) asks the workers itself and pushes ops.workers."""
    from playwright.sync_api import expect

    api, socket = free_port(), free_port()
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_WEB_WORKERS="1",
        OMS_SOCKET_URL=f"http://127.0.0.1:{socket}",
        OMS_SOCKET_ALLOWED_ORIGINS=f"http://127.0.0.1:{api}",
        OMS_WORKERS_PUSH_SECONDS="2",
    )
    processes = [
        start_procfile("web", env, tmp_path / "web.log", api),
        start_procfile("socket", env, tmp_path / "socket.log", socket),
    ]
    session = Session(browser, f"http://127.0.0.1:{api}")
    asked: list[str] = []
    session.page.on(
        "request", lambda r: asked.append(r.url) if "/api/v1/ops/workers" in r.url else None
    )
    try:
        session.login(make_user(UserRole.ADMIN).email, PASSWORD, "/admin/workers")
        session.wait_live()
        page = session.page
        expect(page.locator("#workers tr[data-worker^='w1@']")).to_be_visible(timeout=15000)
        first = page.locator("#sampled-at").inner_text()
        expect(page.locator("#sampled-at")).not_to_have_text(first, timeout=10000)
        assert len(asked) == 1, (asked, processes[1].log()[-2000:])
        assert session.errors == []
    finally:
        session.context.close()
        for process in processes:
            process.stop()
