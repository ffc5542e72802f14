"""Issue 13 analytics: a chosen date range (validated, 422 naming the parameter), the previous
period of the same length beside it, and what an empty page needs to say why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oms.auth.enums import UserRole
from tests.factories import make_order, make_product, make_user
from tests.web.test_analytics import _shift

TODAY = datetime.now(UTC).date()


def _get(client, tokens, admin, query: str):
    return client.get(f"/api/v1/reports/analytics{query}", headers=tokens.headers(admin))


@pytest.fixture
def shop(app_ctx):
    buyer = make_user(UserRole.CUSTOMER)
    grinder = make_product(name="Burr grinder", price="100.00", stock=50)
    today = make_order(buyer, [(grinder, 1)])
    three_days_ago = make_order(buyer, [(grinder, 2)])
    _shift(three_days_ago, days=3)
    ten_days_ago = make_order(buyer, [(grinder, 4)])
    _shift(ten_days_ago, days=10)
    return make_user(UserRole.ADMIN), (today, three_days_ago, ten_days_ago)


def test_a_date_range_and_its_previous_period(shop, client, tokens):
    admin, _ = shop
    day = TODAY - timedelta(days=3)
    body = _get(client, tokens, admin, f"?from={day}&to={day}").get_json()
    assert (body["from"], body["to"], body["days"]) == (day.isoformat(), day.isoformat(), 1)
    assert body["totals"] == {"orders": 1, "revenue": "200.00", "average_order_value": "200.00"}
    previous = body["previous"]
    assert previous["from"] == previous["to"] == (day - timedelta(days=1)).isoformat()
    assert previous["totals"]["orders"] == 0 and len(previous["per_day"]) == 1
    assert body["change"] == {"orders": None, "revenue": None, "average_order_value": None}


def test_the_last_days_are_compared_with_the_days_before(shop, client, tokens):
    admin, _ = shop
    body = _get(client, tokens, admin, "?days=7").get_json()
    assert body["totals"]["orders"] == 2 and body["totals"]["revenue"] == "300.00"
    previous = body["previous"]
    assert previous["to"] == (TODAY - timedelta(days=7)).isoformat()
    assert previous["from"] == (TODAY - timedelta(days=13)).isoformat()
    assert previous["totals"] == {
        "orders": 1,
        "revenue": "400.00",
        "average_order_value": "400.00",
    }
    assert body["change"] == {"orders": 100.0, "revenue": -25.0, "average_order_value": -62.5}
    # the default is the last 30 days
    assert _get(client, tokens, admin, "").get_json()["days"] == 30


def test_first_order_date_says_why_a_period_is_empty(shop, client, tokens):
    admin, _ = shop
    old = TODAY - timedelta(days=200)
    body = _get(client, tokens, admin, f"?from={old}&to={old + timedelta(days=5)}").get_json()
    assert body["totals"]["orders"] == 0
    assert body["first_order_date"] == (TODAY - timedelta(days=10)).isoformat()


def test_no_orders_at_all_has_no_first_order_date(app_ctx, client, tokens):
    body = _get(client, tokens, make_user(UserRole.ADMIN), "?days=7").get_json()
    assert body["first_order_date"] is None and body["totals"]["orders"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (f"?from={TODAY}&to={TODAY - timedelta(days=1)}", "to"),
        (f"?from={TODAY - timedelta(days=400)}&to={TODAY}", "to"),
        (f"?from={TODAY}", "to"),
        (f"?to={TODAY}", "from"),
        (f"?days=7&from={TODAY}&to={TODAY}", "days"),
        (f"?from={TODAY + timedelta(days=1)}&to={TODAY + timedelta(days=2)}", "from"),
        ("?from=2026-13-01&to=2026-12-01", "from"),
        ("?from=yesterday&to=2026-12-01", "from"),
        ("?days=0", "days"),
        ("?days=367", "days"),
    ],
)
def test_a_bad_range_is_a_422_naming_the_parameter(app_ctx, client, tokens, query, field):
    response = _get(client, tokens, make_user(UserRole.ADMIN), query)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["details"]
