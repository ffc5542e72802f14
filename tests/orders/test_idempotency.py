"""Idempotency-Key on POST /api/v1/orders: replay, body mismatch, in-flight, per user, expiry."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from oms.auth.enums import UserRole
from oms.db import utcnow
from oms.extensions import db
from oms.orders import idempotency
from oms.orders.models import IdempotencyKey, Order
from oms.orders.schemas import OrderCreateSchema
from oms.products.models import Product
from tests.factories import ADDRESS, PASSWORD, make_product, make_user

URL = "/api/v1/orders"


def order_body(product, quantity: int = 1) -> dict:
    return {
        "items": [{"product_id": str(product.id), "quantity": quantity}],
        "shipping_address": ADDRESS,
    }


def post(client, headers, body, key):
    return client.post(URL, json=body, headers={**headers, "Idempotency-Key": key})


def order_ids() -> set[str]:
    db.session.expire_all()
    return {str(i) for i in db.session.scalars(sa.select(Order.id))}


def key_row(user, key) -> IdempotencyKey | None:
    db.session.expire_all()
    return db.session.get(IdempotencyKey, (user.id, key))


def reserved(product) -> int:
    db.session.expire_all()
    return db.session.get(Product, product.id).reserved_count


def test_same_key_and_body_replays_the_first_response(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=10)
    headers = auth.headers(customer.email, PASSWORD)
    body = order_body(product, 2)

    first = post(client, headers, body, "checkout-1")
    assert first.status_code == 202, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    second = post(client, headers, body, "checkout-1")
    third = post(client, headers, body, "checkout-1")

    for retry in (second, third):
        assert retry.status_code == 202, retry.get_json()
        assert retry.headers.get("Idempotent-Replayed") == "true"
        assert retry.get_json() == first.get_json()
    assert order_ids() == {first.get_json()["id"]}
    assert reserved(product) == 2  # reserved once, not three times


def test_same_key_with_another_body_is_422(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=10)
    headers = auth.headers(customer.email, PASSWORD)
    first = post(client, headers, order_body(product, 1), "checkout-1")
    assert first.status_code == 202

    other = post(client, headers, order_body(product, 2), "checkout-1")

    assert other.status_code == 422, other.get_json()
    assert other.get_json()["error"]["code"] == "validation_error"
    assert "Idempotency-Key" in other.get_json()["error"]["details"]
    assert "Idempotent-Replayed" not in other.headers
    assert order_ids() == {first.get_json()["id"]}
    assert reserved(product) == 1
    # the first response is still there to replay
    again = post(client, headers, order_body(product, 1), "checkout-1")
    assert again.get_json()["id"] == first.get_json()["id"]


def test_key_whose_first_request_still_runs_is_409_with_retry_after(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=10)
    headers = auth.headers(customer.email, PASSWORD)
    body = order_body(product, 1)
    # the first request holds the key's claim in its still-open transaction
    first = db.engine.connect()
    transaction = first.begin()
    lock_id = idempotency._lock_id(customer.id, "in-flight")
    first.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_id)))
    try:
        response = post(client, headers, body, "in-flight")
        assert response.status_code == 409, response.get_json()
        assert response.get_json()["error"]["code"] == "idempotency_in_progress"
        assert response.get_json()["error"]["details"] == {"Idempotency-Key": ["in_progress"]}
        assert response.headers["Retry-After"] == "1"
        assert order_ids() == set()
        assert reserved(product) == 0
    finally:
        transaction.rollback()  # the first request failed (or its process died)
        first.close()

    # its claim went with its transaction: the retry goes ahead at once
    retry = post(client, headers, body, "in-flight")
    assert retry.status_code == 202, retry.get_json()
    assert order_ids() == {retry.get_json()["id"]}


def test_an_unfinished_claim_left_in_the_table_is_taken_over(app_ctx, client, auth):
    """A row without a response (left by an older version that claimed in a transaction of
    its own) never blocks the key."""
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=10)
    headers = auth.headers(customer.email, PASSWORD)
    body = order_body(product, 1)
    db.session.add(
        IdempotencyKey(
            user_id=customer.id,
            key="orphan",
            request_hash=idempotency.request_hash(OrderCreateSchema().load(body)),
            created_at=utcnow(),
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    db.session.commit()

    response = post(client, headers, body, "orphan")

    assert response.status_code == 202, response.get_json()
    assert order_ids() == {response.get_json()["id"]}
    assert key_row(customer, "orphan").response_status == 202


def test_a_database_failure_leaves_no_claim_behind(app_ctx, auth, monkeypatch):
    """The database goes away after the key was claimed: the request fails, and once the
    database is back the client's retry with the same key goes ahead at once."""
    from sqlalchemy.engine import make_url

    from oms import create_app
    from oms.orders import actions as service
    from tests.conftest import TEST_DATABASE_URL, make_test_config
    from tests.processes import TcpRelay

    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=10)
    url = make_url(TEST_DATABASE_URL)
    relay = TcpRelay((url.host, url.port or 5432))
    relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    app = create_app(make_test_config(SQLALCHEMY_DATABASE_URI=relayed))
    client = app.test_client()
    login = {"email": customer.email, "password": PASSWORD}
    token = client.post("/api/v1/auth/login", json=login).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    real_total = service._total

    def database_goes_away(items):  # after the claim, before the order is written
        relay.cut()
        return real_total(items)

    monkeypatch.setattr(service, "_total", database_goes_away)
    try:
        failed = post(client, headers, order_body(product, 1), "flaky-network")
        assert failed.status_code == 503, failed.get_json()
        monkeypatch.setattr(service, "_total", real_total)
        relay.restore()

        retry = post(client, headers, order_body(product, 1), "flaky-network")
        assert retry.status_code == 202, retry.get_json()
        assert "Idempotent-Replayed" not in retry.headers
    finally:
        relay.cut()
        with app.app_context():
            db.engine.dispose()
    assert order_ids() == {retry.get_json()["id"]}


def test_keys_are_per_user(app_ctx, client, auth):
    alice, bob = make_user(UserRole.CUSTOMER), make_user(UserRole.CUSTOMER)
    product = make_product(stock=10)
    alice_headers = auth.headers(alice.email, PASSWORD)
    bob_headers = auth.headers(bob.email, PASSWORD)
    body = order_body(product, 1)

    first = post(client, alice_headers, body, "shared-key")
    second = post(client, bob_headers, body, "shared-key")

    assert first.status_code == 202 and second.status_code == 202, second.get_json()
    assert "Idempotent-Replayed" not in second.headers
    alice_order, bob_order = first.get_json(), second.get_json()
    assert bob_order["id"] != alice_order["id"]
    assert bob_order["number"] != alice_order["number"]
    assert bob_order["customer_id"] == str(bob.customer.id)
    assert alice_order["customer_id"] == str(alice.customer.id)
    assert order_ids() == {alice_order["id"], bob_order["id"]}
    # each replay returns the caller's own order only
    assert post(client, bob_headers, body, "shared-key").get_json()["id"] == bob_order["id"]
    assert post(client, alice_headers, body, "shared-key").get_json()["id"] == alice_order["id"]
    assert reserved(product) == 2


def test_failed_submission_releases_the_key_for_a_corrected_retry(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=3)
    headers = auth.headers(customer.email, PASSWORD)

    too_many = post(client, headers, order_body(product, 5), "retry-me")
    assert too_many.status_code == 409, too_many.get_json()
    assert too_many.get_json()["error"]["code"] == "insufficient_stock"
    assert key_row(customer, "retry-me") is None
    assert order_ids() == set()

    corrected = post(client, headers, order_body(product, 3), "retry-me")
    assert corrected.status_code == 202, corrected.get_json()
    assert "Idempotent-Replayed" not in corrected.headers
    assert order_ids() == {corrected.get_json()["id"]}
    assert reserved(product) == 3
    # from now on the key belongs to the corrected order
    replay = post(client, headers, order_body(product, 3), "retry-me")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.get_json()["id"] == corrected.get_json()["id"]
    assert post(client, headers, order_body(product, 5), "retry-me").status_code == 422


def test_failed_validation_in_the_service_releases_the_key(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)  # no stored address
    product = make_product(stock=3)
    headers = auth.headers(customer.email, PASSWORD)
    no_address = {"items": [{"product_id": str(product.id), "quantity": 1}]}

    refused = post(client, headers, no_address, "k")
    assert refused.status_code == 422, refused.get_json()
    assert key_row(customer, "k") is None

    corrected = post(client, headers, order_body(product, 1), "k")
    assert corrected.status_code == 202, corrected.get_json()


def test_key_length_is_limited(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=10)
    headers = auth.headers(customer.email, PASSWORD)

    too_long = post(client, headers, order_body(product), "k" * 256)
    assert too_long.status_code == 422, too_long.get_json()
    assert "Idempotency-Key" in too_long.get_json()["error"]["details"]
    empty = post(client, headers, order_body(product), "")
    assert empty.status_code == 422, empty.get_json()
    assert order_ids() == set()

    longest = post(client, headers, order_body(product), "k" * 255)
    assert longest.status_code == 202, longest.get_json()
    replay = post(client, headers, order_body(product), "k" * 255)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert order_ids() == {longest.get_json()["id"]}


def test_expired_key_can_be_used_again(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=10)
    headers = auth.headers(customer.email, PASSWORD)
    first = post(client, headers, order_body(product, 1), "daily")
    assert first.status_code == 202

    def expire():
        db.session.execute(
            sa.update(IdempotencyKey)
            .where(IdempotencyKey.user_id == customer.id, IdempotencyKey.key == "daily")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()

    expire()
    same_body = post(client, headers, order_body(product, 1), "daily")
    assert same_body.status_code == 202, same_body.get_json()
    assert "Idempotent-Replayed" not in same_body.headers
    assert same_body.get_json()["id"] != first.get_json()["id"]

    expire()
    other_body = post(client, headers, order_body(product, 2), "daily")
    assert other_body.status_code == 202, other_body.get_json()
    assert "Idempotent-Replayed" not in other_body.headers

    ids = {first.get_json()["id"], same_body.get_json()["id"], other_body.get_json()["id"]}
    assert len(ids) == 3
    assert order_ids() == ids
    assert reserved(product) == 4
    # and the renewed key replays its new order
    replay = post(client, headers, order_body(product, 2), "daily")
    assert replay.get_json()["id"] == other_body.get_json()["id"]
    assert key_row(customer, "daily").expires_at > utcnow()


def test_requests_without_a_key_are_never_deduplicated(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=10)
    headers = auth.headers(customer.email, PASSWORD)
    first = client.post(URL, json=order_body(product), headers=headers)
    second = client.post(URL, json=order_body(product), headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.get_json()["id"] != second.get_json()["id"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 0
