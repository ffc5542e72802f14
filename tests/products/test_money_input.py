"""Money in requests: a decimal string of ASCII digits, or an exact JSON number, within bounds
and with at most two decimals; never read through a float (issue 24, item 9)."""

from __future__ import annotations

import pytest

from oms.auth.enums import UserRole
from tests.factories import PASSWORD, make_user


@pytest.fixture
def staff(app_ctx, auth):
    return auth.headers(make_user(UserRole.STAFF).email, PASSWORD)


def _create(client, headers, raw_price: str):
    body = '{"name": "Widget", "price": ' + raw_price + "}"
    return client.post(
        "/api/v1/products",
        data=body.encode(),
        headers={**headers, "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    "raw_price",
    [
        "1E-999999999",  # a float reads it as 0.0
        "0.001",
        '"0.001"',
        "1E+999999999",  # a float reads it as inf
        "0.30000000000000004",
        '"١٢"',  # Arabic-Indic digits: Decimal() reads them as 12
        '"1_000"',  # Decimal() reads underscores as digit grouping
        '" 12"',
        '"12 "',
        '"+12"',
        '"1e3"',
        '"NaN"',
        '"Infinity"',
        "true",
        "-1",
        '"-1.00"',
        "10000000000",
        '"10000000000.00"',
    ],
)
def test_money_refused(client, staff, raw_price):
    response = _create(client, staff, raw_price)
    assert response.status_code in (400, 422), response.get_json()
    if response.status_code == 422:
        assert "price" in response.get_json()["error"]["details"]


@pytest.mark.parametrize(
    ("raw_price", "stored"),
    [
        ('"12.50"', "12.50"),
        ('"12.5"', "12.50"),
        ('"12"', "12.00"),
        ("12", "12.00"),
        ("12.5", "12.50"),
        ("0.1", "0.10"),
        ("1.10", "1.10"),
        ("1e2", "100.00"),
        ("9999999999.99", "9999999999.99"),
        ('"0"', "0.00"),
    ],
)
def test_money_accepted_exactly(client, staff, raw_price, stored):
    response = _create(client, staff, raw_price)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["price"] == stored


@pytest.mark.parametrize("value", ["١٢", "1_000", "0.001", " 12"])
def test_money_filters_refuse_what_prices_refuse(client, staff, value):
    response = client.get("/api/v1/orders", query_string={"total_min": value}, headers=staff)
    assert response.status_code == 422, response.get_json()
    assert "total_min" in response.get_json()["error"]["details"]
