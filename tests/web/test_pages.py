"""The page guard, friendly error pages, and the assets every page needs (served by the app)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask_jwt_extended import create_access_token

from oms.auth.enums import UserRole
from tests.factories import PASSWORD, make_order, make_product, make_user

ROOT = Path(__file__).resolve().parents[2]
PAGES = {
    "/customer": (UserRole.CUSTOMER,),
    "/staff": (UserRole.STAFF, UserRole.ADMIN),
    "/staff/orders": (UserRole.STAFF, UserRole.ADMIN),
    "/staff/orders/new": (UserRole.STAFF, UserRole.ADMIN),
    "/staff/customers": (UserRole.STAFF, UserRole.ADMIN),
    "/staff/products": (UserRole.STAFF, UserRole.ADMIN),
    "/admin": (UserRole.ADMIN,),
    "/admin/analytics": (UserRole.ADMIN,),
    "/admin/users": (UserRole.ADMIN,),
}


def login(client, user) -> None:
    """Log in like the browser does: the API sets the cookies on the client."""
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200


def test_logged_out_visitors_are_sent_to_login_and_back(client):
    for path in PAGES:
        response = client.get(path + "?status=placed")
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next=")
        assert path in response.headers["Location"]


@pytest.mark.parametrize("role", list(UserRole))
def test_each_role_opens_its_pages_and_gets_a_friendly_403_elsewhere(app_ctx, client, role):
    login(client, make_user(role))
    for path, roles in PAGES.items():
        response = client.get(path)
        html = response.get_data(as_text=True)
        if role in roles:
            assert response.status_code == 200, (path, html[:500])
            assert "<main" in html
        else:
            assert response.status_code == 403, path
            assert response.mimetype == "text/html"
            assert "You do not have access to this page" in html
            assert f"logged in as a {role.value}" in html


def test_login_lands_each_role_on_its_dashboard(app_ctx, client):
    for role, home in (
        (UserRole.CUSTOMER, "/customer"),
        (UserRole.STAFF, "/staff"),
        (UserRole.ADMIN, "/admin"),
    ):
        client.delete_cookie("access_token_cookie")
        login(client, make_user(role))
        response = client.get("/")
        assert response.status_code == 302 and response.headers["Location"] == home


def test_an_expired_access_cookie_is_renewed_from_the_refresh_cookie(app_ctx, app, client):
    user = make_user(UserRole.STAFF)
    login(client, user)
    with app.test_request_context():
        expired = create_access_token(identity=str(user.id), expires_delta=timedelta(seconds=-5))
    client.set_cookie("access_token_cookie", expired)
    response = client.get("/staff")
    assert response.status_code == 200
    renewed = [
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("access_token_cookie=")
    ]
    assert renewed and "HttpOnly" in renewed[0]
    # with the refresh cookie gone as well, the visitor is logged out
    client.delete_cookie("refresh_token_cookie")
    client.set_cookie("access_token_cookie", expired)
    assert client.get("/staff").status_code == 302


def test_a_logged_out_session_cannot_open_pages(app_ctx, client):
    user = make_user(UserRole.CUSTOMER)
    login(client, user)
    csrf = client.get_cookie("csrf_access_token").value
    assert (
        client.post("/api/v1/auth/logout", json={}, headers={"X-CSRF-TOKEN": csrf}).status_code
        == 200
    )
    assert client.get("/customer").status_code == 302


def test_next_never_leaves_the_site(client):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        html = client.get("/login", query_string={"next": target}).get_data(as_text=True)
        assert 'data-next=""' in html, target
    html = client.get("/login?next=/staff%3Fstatus%3Dplaced").get_data(as_text=True)
    assert 'data-next="/staff?status=placed"' in html


def test_another_customers_order_page_is_a_friendly_404(app_ctx, client):
    product = make_product(stock=5)
    owner, other = make_user(UserRole.CUSTOMER), make_user(UserRole.CUSTOMER)
    order = make_order(owner, [(product, 1)])
    login(client, other)
    response = client.get(f"/customer/orders/{order.id}")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Page not found" in response.get_data(as_text=True)
    client.delete_cookie("access_token_cookie")
    login(client, owner)
    response = client.get(f"/customer/orders/{order.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and order.number in html
    # the order is embedded as JSON for the first paint, with what the owner may do next
    assert '"allowed_statuses": ["cancelled"]' in html


def test_browser_routes_get_html_errors_and_the_api_keeps_its_envelope(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Page not found" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.is_json
    assert api.get_json()["error"]["code"] == "not_found"
    assert client.post("/customer").status_code == 405


@pytest.mark.usefixtures("_database")
def test_a_page_that_fails_shows_the_500_page_without_internals():
    from oms import create_app
    from tests.conftest import make_test_config

    app = create_app(make_test_config(TESTING=False, PROPAGATE_EXCEPTIONS=False))

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    response = app.test_client().get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "Something went wrong on our side" in html
    assert "hunter2" not in html and "Traceback" not in html
    assert response.headers["X-Request-ID"] in html


def test_pages_load_scripts_and_styles_from_the_app_only(app_ctx, client):
    login(client, make_user(UserRole.ADMIN))
    for path in ("/admin", "/admin/analytics", "/staff", "/login"):
        html = client.get(path).get_data(as_text=True)
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not re.match(r"^(https?:)?//", url), (path, url)
            if url.startswith("/static/"):
                assert client.get(url).status_code == 200, url


def test_no_cdn_anywhere_in_templates_or_static_files():
    files = [
        *ROOT.joinpath("templates").rglob("*.html"),
        *ROOT.joinpath("oms/static/js").rglob("*.js"),
        *ROOT.joinpath("oms/static/css").rglob("*.css"),
    ]
    assert files
    for path in files:
        text = path.read_text()
        assert not re.search(r"(src|href)=[\"'](https?:)?//", text), path
        assert "cdn" not in text.lower(), path


def test_vendored_libraries_are_present_and_written_down():
    vendor = ROOT / "oms/static/vendor"
    versions = (vendor / "VERSIONS.md").read_text()
    for package, path in (
        ("socket.io-client", "socket.io-client/socket.io.min.js"),
        ("chart.js", "chart.js/chart.umd.min.js"),
        ("@picocss/pico", "pico/pico.min.css"),
    ):
        assert (vendor / path).stat().st_size > 10_000, path
        assert re.search(rf"`{re.escape(package)}` \| `\d+\.\d+\.\d+`", versions), package
    client_version = re.search(r"`socket.io-client` \| `(\d+)\.", versions).group(1)
    assert client_version == "4"  # Socket.IO protocol 5, as Flask-SocketIO 5 speaks


def test_order_pages_ask_for_a_reason_to_cancel_as_each_role_should(app, app_ctx):
    customer = make_user(UserRole.CUSTOMER)
    order = make_order(customer, [(make_product(stock=5), 1)])
    as_customer, as_staff = app.test_client(), app.test_client()
    login(as_customer, customer)
    login(as_staff, make_user(UserRole.STAFF))
    mine = as_customer.get(f"/customer/orders/{order.id}").get_data(as_text=True)
    theirs = as_staff.get(f"/staff/orders/{order.id}").get_data(as_text=True)
    for page in (mine, theirs):
        # the number sits in a span the list pages fill (one cancel dialog for every card)
        assert f"Cancel order {order.number}?" in re.sub(r"<[^>]+>", "", page)
    assert "(optional)" in mine and "required" not in mine.split('id="cancel-dialog"')[1]
    assert "shown to the customer" in theirs
    assert re.search(r'<textarea name="notes" rows="3" required', theirs)
