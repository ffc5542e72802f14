"""Production as users reach it: the app in production mode (Secure login cookies) behind the
shipped proxy (deploy/nginx.conf, its certificate made by deploy/proxy-entrypoint.sh as at
compose's first start), opened in Chromium by a name. ``--host-resolver-rules`` maps oms.test
to loopback for the browser, which still treats it as any other name: ``Secure`` cookies are
kept over HTTPS only (over plain HTTP only at 127.0.0.1 and localhost). The proxy's certificate
is accepted by its key (``--ignore-certificate-errors-spki-list``), nothing else.

Customer and staff log in at ``https://oms.test:<port>``, navigate and reload and stay logged
in; live updates arrive over ``wss`` through the proxy; ``http://oms.test:<port>`` redirects to
HTTPS; and the app reached over plain HTTP at the name says it must be opened over HTTPS
instead of sending the user back to an empty login form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.e2e.browser import launch
from tests.e2e.conftest import Session
from tests.factories import ADDRESS, PASSWORD, make_product, make_user
from tests.processes import free_port, stack_env, start_procfile
from tests.proxy import require_nginx, start_proxy

pytestmark = [pytest.mark.slow, pytest.mark.needs("nginx")]  # the shipped proxy (tests/proxy.py)

HOST = "oms.test"
HTTPS_MESSAGE = "This site must be opened over HTTPS"


@pytest.fixture(scope="module")
def site(app, worker, tmp_path_factory):
    """The production API and socket processes behind the shipped proxy."""
    require_nginx()
    folder = tmp_path_factory.mktemp("https-site")
    api_port, socket_port = free_port(), free_port()
    http_port, https_port = free_port(), free_port()
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_ENV="production",
        OMS_SECRET_KEY="s" * 40,
        OMS_JWT_SECRET_KEY="j" * 40,
        OMS_METRICS_TOKEN="m" * 40,
        OMS_WEBHOOKS_ENCRYPTION_KEYS="dGVzdC13ZWJob29rLWtleS0wMTIzNDU2Nzg5YWJjZGU=",
        OMS_PUBLIC_URL=f"https://{HOST}:{https_port}",
        OMS_PROXY_HOPS="1",
        OMS_WEB_WORKERS="1",
    )
    env.pop("OMS_COOKIE_SECURE", None)  # production's default: Secure
    processes = [
        start_procfile("web", env, folder / "web.log", api_port),
        start_procfile("socket", env, folder / "socket.log", socket_port),
    ]
    try:
        proxy = start_proxy(folder, api_port, socket_port, HOST, (http_port, https_port))
        processes.append(proxy)
        yield proxy, api_port
    finally:
        for process in reversed(processes):
            process.stop()


@pytest.fixture(scope="module")
def by_name(playwright, site):
    """Chromium resolving oms.test to loopback and accepting exactly the proxy's key."""
    proxy, _ = site
    chromium = launch(
        playwright,
        f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
        f"--ignore-certificate-errors-spki-list={proxy.spki_hash()}",
    )
    yield chromium
    chromium.close()


@pytest.fixture
def sessions(by_name):
    opened: list[Session] = []

    def _open(base_url: str) -> Session:
        session = Session(by_name, base_url)
        opened.append(session)
        return session

    yield _open
    for session in opened:
        session.context.close()


def _stays_logged_in(session: Session, home: str, elsewhere: str) -> None:
    page = session.page
    expect(page).to_have_url(re.compile(re.escape(home) + "$"))
    page.reload()
    expect(page).to_have_url(re.compile(re.escape(home) + "$"))
    page.goto(elsewhere)
    expect(page).to_have_url(re.compile(re.escape(elsewhere) + "$"))
    page.reload()
    expect(page).to_have_url(re.compile(re.escape(elsewhere) + "$"))
    cookies = session.context.cookies()
    assert {c["name"] for c in cookies} >= {"access_token_cookie", "csrf_access_token"}
    assert all(c["secure"] for c in cookies)


def test_customer_and_staff_log_in_by_name_over_https_and_stay_live(app_ctx, site, sessions):
    proxy, _ = site
    base = proxy.url(HOST)
    product = make_product(stock=5)
    staff, customer = make_user(UserRole.STAFF), make_user(UserRole.CUSTOMER)

    desk = sessions(base)
    desk.login(staff.email, PASSWORD)
    _stays_logged_in(desk, "/staff", "/staff/orders")
    desk.page.goto("/staff")
    desk.wait_live()
    desk.mark()

    shopper = sessions(base)
    shopper.login(customer.email, PASSWORD, next_path="/customer")
    _stays_logged_in(shopper, "/customer", "/account")

    # an order placed through the proxy reaches the staff queue live (Socket.IO over wss)
    status, tokens = proxy.request(
        "POST", "/api/v1/auth/login", {"email": customer.email, "password": PASSWORD}
    )
    assert status == 200, tokens
    status, order = proxy.request(
        "POST",
        "/api/v1/orders",
        {"items": [{"product_id": str(product.id), "quantity": 1}], "shipping_address": ADDRESS},
        tokens["access_token"],
    )
    assert status == 202, order
    card = desk.page.locator(f'.order-card[data-order-id="{order["id"]}"]')
    expect(card.locator(".badge")).to_have_text("Placed", timeout=30_000)
    assert desk.still_marked(), "the staff queue reloaded"
    assert desk.errors == [] and shopper.errors == []


def test_plain_http_redirects_to_https(site, sessions):
    proxy, _ = site
    session = sessions(f"http://{HOST}:{proxy.http_port}")
    session.page.goto("/login?next=/staff")
    expect(session.page).to_have_url(f"https://{HOST}:{proxy.https_port}/login?next=/staff")


def test_the_app_over_plain_http_at_a_name_says_to_use_https(app_ctx, site, sessions):
    _, api_port = site
    user = make_user(UserRole.STAFF)
    session = sessions(f"http://{HOST}:{api_port}")
    page = session.page
    page.goto("/login")
    notice = page.locator("[data-form-error]")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(HTTPS_MESSAGE)
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(notice).to_contain_text(HTTPS_MESSAGE)
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    expect(page).to_have_url(re.compile(r"/login$"))
