"""Finding 8: every page is sent with the Content-Security-Policy and works under it in
Chromium: no ``securitypolicyviolation`` event, no CSP message in the console, no script
error, and the page's own work done (data loaded, live connection up, Swagger UI drawn).

``PAGES`` must name every GET page the app serves: ``test_every_page_is_checked`` fails when a
page is added without being listed here."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from tests.factories import PASSWORD, make_order, make_product, make_user

pytestmark = pytest.mark.slow

# path -> who opens it (None: logged out) and whether the page holds a live connection
PAGES: dict[str, tuple[str | None, bool]] = {
    "/": (None, False),
    "/login": (None, False),
    "/register": (None, False),
    "/register/confirm": (None, False),
    "/password-reset": (None, False),
    "/api/v1/docs": (None, False),
    "/no-such-page": (None, False),
    "/account": ("customer", False),
    "/customer": ("customer", True),
    "/customer/orders/{order}": ("customer", True),
    "/staff": ("staff", True),
    "/staff/orders/new": ("staff", False),
    "/staff/orders/{order}": ("staff", True),
    "/staff/orders": ("staff", True),
    "/staff/orders/{order}/packing-slip": ("staff", False),
    "/staff/pick-list": ("staff", False),
    "/staff/customers": ("staff", False),
    "/staff/products": ("staff", True),
    "/admin": ("admin", True),
    "/admin/analytics": ("admin", False),
    "/admin/users": ("admin", False),
    "/admin/audit": ("admin", False),
    "/admin/webhooks": ("admin", False),
    "/admin/problems": ("admin", False),
    "/admin/workers": ("admin", True),
    "/logout": ("customer", False),  # last: it ends the session
}
# GET routes that are not pages (JSON, text, files) or pages reached only by redirect
NOT_PAGES = {"/static/<version>/<path:filename>", "/healthz", "/readyz", "/metrics"}

WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`
    + ` at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def test_every_page_is_checked(app):
    listed = {p.replace("{order}", "<uuid:order_id>") for p in PAGES}
    served = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.rule.startswith("/api/")
    }
    assert served - NOT_PAGES <= listed, f"pages the CSP test does not open: {served - listed}"


def test_every_response_carries_the_policy(client):
    for path in ("/login", "/api/v1/docs", "/api/v1/openapi.json", "/healthz"):
        policy = client.get(path).headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy, path
        assert "frame-ancestors 'none'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path


@pytest.fixture
def shop(app_ctx):
    users = {
        "customer": make_user(UserRole.CUSTOMER, first_name="Ada"),
        "staff": make_user(UserRole.STAFF),
        "admin": make_user(UserRole.ADMIN),
    }
    board = make_product(name="Oak board", price="20.00", stock=5)
    order = make_order(users["customer"], [(board, 1)], staff=users["staff"])
    return users, str(order.id)


def _check(session, path: str, live: bool) -> list[str]:
    page = session.page
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(path)
    page.wait_for_load_state("networkidle")
    expect(page.locator("main [aria-busy=true]")).to_have_count(0)
    if live:
        session.wait_live()
    if path == "/api/v1/docs":
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Order fulfilment")
        expect(page.locator(".opblock").first).to_be_visible()
    problems = list(page.evaluate("window.__cspViolations"))
    problems += [text for text in console if "Content Security Policy" in text]
    problems += session.errors
    session.errors.clear()
    return [f"{path}: {p}" for p in problems]


def test_every_page_works_under_the_policy(shop, open_session):
    users, order = shop
    sessions = {}
    found: list[str] = []
    for path, (role, live) in PAGES.items():
        if role not in sessions:
            session = open_session()
            session.context.add_init_script(WATCH_VIOLATIONS)
            if role is not None:
                session.login(users[role].email, PASSWORD)
            sessions[role] = session
        found += _check(sessions[role], path.format(order=order), live)
    assert not found, "\n".join(found)
