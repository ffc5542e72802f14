"""Issue 13 defect 8 (API side): who made each history step, the currency setting, and
country codes checked against ISO 3166-1."""

from __future__ import annotations

import pytest

from oms.auth.enums import UserRole
from oms.config import ConfigurationError, load_config
from tests.factories import make_order, make_product, make_user


def test_history_names_the_person_and_role_and_null_for_the_worker(app_ctx, client, tokens):
    customer = make_user(UserRole.CUSTOMER, first_name="Ada", last_name="Lovelace")
    staff = make_user(UserRole.STAFF, first_name="Sam", last_name="Picker")
    order = make_order(customer, [(make_product(stock=5), 1)], status="picked", staff=staff)
    body = client.get(f"/api/v1/orders/{order.id}", headers=tokens.headers(staff)).get_json()
    steps = [(h["new_status"], h["changed_by"]) for h in body["history"]]
    assert steps[0] == (
        "pending",
        {"id": str(customer.id), "name": "Ada Lovelace", "role": "customer"},
    )
    assert steps[1] == ("placed", None)  # the reservation worker: the system
    assert steps[2] == ("picked", {"id": str(staff.id), "name": "Sam Picker", "role": "staff"})
    # the existing field is kept
    assert body["history"][2]["changed_by_user_id"] == str(staff.id)


@pytest.mark.parametrize("country", ["ZZ", "XX", "N0", "NOR", ""])
def test_an_unassigned_country_code_is_a_422_naming_the_field(app_ctx, client, tokens, country):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=5)
    address = {"line1": "1 Main St", "city": "Oslo", "postal_code": "0150", "country": country}
    response = client.post(
        "/api/v1/orders",
        json={
            "items": [{"product_id": str(product.id), "quantity": 1}],
            "shipping_address": address,
        },
        headers=tokens.headers(customer),
    )
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    assert list(details) == ["shipping_address"] and list(details["shipping_address"]) == [
        "country"
    ]


def test_a_lower_case_country_is_accepted_and_stored_upper_case(app_ctx, client, tokens):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=5)
    address = {"line1": "1 Main St", "city": "Oslo", "postal_code": "0150", "country": "no"}
    response = client.post(
        "/api/v1/orders",
        json={
            "items": [{"product_id": str(product.id), "quantity": 1}],
            "shipping_address": address,
        },
        headers=tokens.headers(customer),
    )
    assert response.status_code == 202
    assert response.get_json()["shipping_address"]["country"] == "NO"


def test_a_customer_record_refuses_an_unknown_country(app_ctx, client, tokens):
    staff = make_user(UserRole.STAFF)
    response = client.post(
        "/api/v1/customers",
        json={
            "email": "zz@example.test",
            "first_name": "Zed",
            "last_name": "Zee",
            "address": {"line1": "x", "city": "y", "postal_code": "1", "country": "ZZ"},
        },
        headers=tokens.headers(staff),
    )
    assert response.status_code == 422
    assert "country" in response.get_json()["error"]["details"]["address"]


def test_currency_defaults_to_eur_and_must_be_iso_4217(monkeypatch):
    monkeypatch.delenv("OMS_CURRENCY", raising=False)
    assert load_config()["OMS_CURRENCY"] == "EUR"
    monkeypatch.setenv("OMS_CURRENCY", "nok")
    assert load_config()["OMS_CURRENCY"] == "NOK"
    monkeypatch.setenv("OMS_CURRENCY", "EURO")
    with pytest.raises(ConfigurationError, match="OMS_CURRENCY"):
        load_config()


def test_pages_carry_the_currency_and_a_country_select(app_ctx, client, tokens):
    customer = make_user(UserRole.CUSTOMER)
    client.post("/api/v1/auth/login", json={"email": customer.email, "password": "correct-horse-1"})
    html = client.get("/customer").get_data(as_text=True)
    assert 'data-currency="EUR"' in html
    assert (
        'name="shipping_address.country"' in html
        and '<label for="shipping_address-country">' in html
    )
    assert '<option value="NO">Norway</option>' in html
