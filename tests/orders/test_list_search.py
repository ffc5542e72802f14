"""q= pages and counts each alternative (customer, product, city) on its own and unites them
(``oms.pagination.paginate``'s ``any_of``): an order matching several is listed and counted
once, pages walk every match once in order, other filters hold in every alternative; on
PostgreSQL and on the embedded SQLite default alike."""

from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa

from oms import pagination
from oms.auth.enums import UserRole
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from tests.factories import ADDRESS, make_order, make_product, make_user

URL = "/api/v1/orders"


def _shop(headers_of) -> SimpleNamespace:
    """'gooseneck' is a customer's name, a product's name and a city: five orders, four of
    them match it (one by name and product both), one matches nothing."""
    staff = make_user(UserRole.STAFF)
    ann = make_user(UserRole.CUSTOMER, first_name="Ann", last_name="Gooseneck")
    bob = make_user(UserRole.CUSTOMER, first_name="Bob", last_name="Haugen")
    kettle = make_product(name="Gooseneck kettle", price="45.50", stock=50)
    grinder = make_product(name="Burr grinder", price="120.00", stock=50)
    by_name = make_order(ann, [(grinder, 1)])
    by_both = make_order(ann, [(kettle, 1), (grinder, 1)], status=OrderStatus.PICKED, staff=staff)
    by_product = make_order(bob, [(kettle, 2)])
    by_city = make_order(bob, [(grinder, 2)], status=OrderStatus.PICKED, staff=staff)
    unmatched = make_order(bob, [(grinder, 3)])
    db.session.execute(
        sa.update(Order)
        .where(Order.id == by_city.id)
        .values(shipping_address={**ADDRESS, "city": "Gooseneck"})
    )
    db.session.commit()
    return SimpleNamespace(
        headers=headers_of(staff),
        matching={str(o.id) for o in (by_name, by_both, by_product, by_city)},
        picked={str(by_both.id), str(by_city.id)},
        unmatched=unmatched.id,
    )


def _walk(client, headers, query: dict) -> tuple[list[str], list[int]]:
    """Every page of ``query`` one order at a time: the ids in order, and each page's count."""
    ids, counts, cursor = [], [], None
    while True:
        params = {**query, "limit": 1, **({"cursor": cursor} if cursor else {})}
        body = client.get(URL, query_string=params, headers=headers).get_json()
        ids += [item["id"] for item in body["items"]]
        counts.append(body["count"])
        cursor = body["next_cursor"]
        if not cursor:
            return ids, counts


def _check(client, shop) -> None:
    for sort in ("-created_at", "total_amount", "-number", "status_updated_at"):
        ids, counts = _walk(client, shop.headers, {"q": "gooseneck", "sort": sort})
        assert sorted(ids) == sorted(shop.matching), sort  # each once
        assert set(counts) == {4}
        everything, _ = _walk(client, shop.headers, {"sort": sort})
        assert ids == [i for i in everything if i in shop.matching], sort  # in the list's order
    picked, counts = _walk(client, shop.headers, {"q": "Gooseneck", "status": "picked"})
    assert sorted(picked) == sorted(shop.picked)
    assert set(counts) == {2}
    assert _walk(client, shop.headers, {"q": "espresso"}) == ([], [0])
    bobs, counts = _walk(client, shop.headers, {"q": "haugen"})  # one alternative matches
    assert (len(bobs), set(counts)) == (3, {3})


def test_search_alternatives_page_and_count_once_each(app_ctx, client, tokens):
    _check(client, _shop(tokens.headers))


def test_search_count_caps_across_alternatives(app_ctx, client, tokens, monkeypatch):
    shop = _shop(tokens.headers)
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    body = client.get(URL, query_string={"q": "gooseneck"}, headers=shop.headers).get_json()
    assert (body["count"], body["count_capped"], len(body["items"])) == (3, True, 4)
    monkeypatch.setattr(pagination, "COUNT_CAP", 4)
    body = client.get(URL, query_string={"q": "gooseneck"}, headers=shop.headers).get_json()
    assert (body["count"], body["count_capped"]) == (4, False)


def test_search_on_sqlite(embedded_app, tokens):
    assert db.engine.dialect.name == "sqlite"
    _check(embedded_app.test_client(), _shop(tokens.headers))


def test_a_stored_address_the_json_functions_refuse_breaks_no_search(app_ctx, client, tokens):
    """An address holding an escaped lone surrogate (written before the API refused it) can
    be stored and searched past: the city index's function gives it no city."""
    shop = _shop(tokens.headers)
    bad = '{"line1": "Bad \\ud800", "city": "Oslo", "postal_code": "0150", "country": "NO"}'
    db.session.execute(
        sa.text("UPDATE orders SET shipping_address = CAST(:a AS json) WHERE id = :id"),
        {"a": bad, "id": shop.unmatched},
    )
    db.session.commit()
    body = client.get(URL, query_string={"q": "oslo"}, headers=shop.headers).get_json()
    assert body["count"] == 3  # the four Oslo addresses but the unreadable one
    body = client.get(URL, query_string={"q": "haugen"}, headers=shop.headers).get_json()
    assert str(shop.unmatched) in [item["id"] for item in body["items"]]
