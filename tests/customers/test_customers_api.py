"""The customers API: roles, create/update with unique emails, search, pages, delete rules."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.customers.models import Customer
from oms.extensions import db
from oms.orders.enums import OPEN_STATUSES, OrderStatus
from oms.orders.models import Order
from tests.factories import PASSWORD, insert_order, make_customer, make_product, make_user

FIELDS = {
    "id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "address",
    "user_id",
    "created_at",
    "updated_at",
}
ADDRESS = {"line1": "12 High Street", "city": "Bristol", "postal_code": "BS1 4DJ", "country": "GB"}
MISSING_ID = "00000000-0000-0000-0000-000000000000"
CLOSED_STATUSES = sorted(set(OrderStatus) - OPEN_STATUSES)


@pytest.fixture
def headers(app_ctx, auth):
    """Bearer headers per role, each for a fresh user."""

    def for_role(role: UserRole) -> dict:
        return auth.headers(make_user(role).email, PASSWORD)

    return for_role


def count_customers() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Customer))


def emails(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [c["email"] for c in response.get_json()["items"]]


# --- roles -------------------------------------------------------------------------------


def test_anonymous_gets_401_everywhere(app_ctx, client):
    customer = make_customer()
    url = f"/api/v1/customers/{customer.id}"
    assert client.get("/api/v1/customers").status_code == 401
    assert client.post("/api/v1/customers", json={}).status_code == 401
    assert client.get(url).status_code == 401
    assert client.put(url, json={}).status_code == 401
    assert client.delete(url).status_code == 401


def test_customers_get_403_everywhere(client, headers):
    customer = make_customer()
    h = headers(UserRole.CUSTOMER)
    url = f"/api/v1/customers/{customer.id}"
    body = {"email": "new@example.test", "first_name": "A", "last_name": "B"}
    for response in (
        client.get("/api/v1/customers", headers=h),
        client.post("/api/v1/customers", json=body, headers=h),
        client.get(url, headers=h),
        client.put(url, json={"first_name": "Changed"}, headers=h),
        client.delete(url, headers=h),
    ):
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "authorization_error"
    db.session.expire_all()
    assert count_customers() == 2  # the record above and the caller's own
    assert db.session.get(Customer, customer.id).first_name == "Casey"


def test_staff_may_not_delete_customers(client, headers):
    customer = make_customer()
    response = client.delete(f"/api/v1/customers/{customer.id}", headers=headers(UserRole.STAFF))
    assert response.status_code == 403
    assert response.get_json()["error"]["details"]["required"] == ["admin"]
    assert db.session.get(Customer, customer.id) is not None


# --- create, get, update -----------------------------------------------------------------


@pytest.mark.parametrize("role", [UserRole.STAFF, UserRole.ADMIN])
def test_staff_and_admin_create_and_read_a_customer(client, headers, role):
    h = headers(role)
    response = client.post(
        "/api/v1/customers",
        json={
            "email": "Ann.Smith@Example.TEST",
            "first_name": "Ann",
            "last_name": "Smith",
            "phone": "+44 117 496 0000",
            "address": ADDRESS,
        },
        headers=h,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == FIELDS
    assert body["email"] == "ann.smith@example.test"
    assert (body["first_name"], body["last_name"], body["user_id"]) == ("Ann", "Smith", None)
    assert body["address"] == ADDRESS
    fetched = client.get(f"/api/v1/customers/{body['id']}", headers=h)
    assert fetched.status_code == 200
    assert fetched.get_json() == body


def test_phone_and_address_are_optional(client, headers):
    response = client.post(
        "/api/v1/customers",
        json={"email": "bare@example.test", "first_name": "Bo", "last_name": "Bare"},
        headers=headers(UserRole.STAFF),
    )
    assert response.status_code == 201
    assert (response.get_json()["phone"], response.get_json()["address"]) == (None, None)


def test_duplicate_email_is_409_whatever_its_case(client, headers):
    make_customer(email="taken@example.test")
    response = client.post(
        "/api/v1/customers",
        json={"email": "TAKEN@example.test", "first_name": "T", "last_name": "Two"},
        headers=headers(UserRole.STAFF),
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert (error["code"], error["details"]) == (
        "email_taken",
        {"email": ["A customer with this email already exists."]},
    )
    assert count_customers() == 1  # staff users have no customer record


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": "a@example.test", "first_name": "A"}, {"last_name"}),
        ({"first_name": "A", "last_name": "B"}, {"email"}),
        ({"email": "not-an-email", "first_name": "A", "last_name": "B"}, {"email"}),
        ({"email": "a@example.test", "first_name": " ", "last_name": "B"}, {"first_name"}),
        ({"email": "a@example.test", "first_name": "A" * 101, "last_name": "B"}, {"first_name"}),
        (
            {"email": "a@example.test", "first_name": "A", "last_name": "B", "user_id": MISSING_ID},
            {"user_id"},
        ),
        (
            {"email": "a@example.test", "first_name": "A", "last_name": "B", "id": MISSING_ID},
            {"id"},
        ),
        (
            {"email": "a@example.test", "first_name": "A", "last_name": "B", "address": {}},
            {"address"},
        ),
        (
            {
                "email": "a@example.test",
                "first_name": "A",
                "last_name": "B",
                "address": {**ADDRESS, "planet": "Mars"},
            },
            {"address"},
        ),
    ],
)
def test_create_refuses_invalid_and_unknown_fields(client, headers, body, fields):
    h = headers(UserRole.STAFF)
    before = count_customers()
    response = client.post("/api/v1/customers", json=body, headers=h)
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()["error"]["details"]) == fields
    assert count_customers() == before


def test_update_changes_only_the_given_fields(client, headers):
    customer = make_customer(email="old@example.test", phone="123", address=ADDRESS)
    h = headers(UserRole.STAFF)
    url = f"/api/v1/customers/{customer.id}"
    response = client.put(url, json={"email": "New@Example.test", "last_name": "Jones"}, headers=h)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["email"], body["first_name"], body["last_name"]) == (
        "new@example.test",
        "Casey",
        "Jones",
    )
    assert (body["phone"], body["address"]) == ("123", ADDRESS)
    cleared = client.put(url, json={"phone": None, "address": None}, headers=h).get_json()
    assert (cleared["phone"], cleared["address"], cleared["last_name"]) == (None, None, "Jones")
    db.session.expire_all()
    stored = db.session.get(Customer, customer.id)
    assert (stored.email, stored.phone, stored.address) == ("new@example.test", None, None)


def test_update_to_a_taken_email_is_409(client, headers):
    make_customer(email="taken@example.test")
    customer = make_customer(email="mine@example.test")
    url = f"/api/v1/customers/{customer.id}"
    h = headers(UserRole.ADMIN)
    response = client.put(url, json={"email": "Taken@example.test"}, headers=h)
    assert response.status_code == 409
    assert response.get_json()["error"]["details"] == {
        "email": ["A customer with this email already exists."]
    }
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).email == "mine@example.test"
    # keeping one's own email (in another case) is no conflict
    same = client.put(url, json={"email": "MINE@example.test"}, headers=h)
    assert same.status_code == 200
    assert same.get_json()["email"] == "mine@example.test"


def test_update_refuses_invalid_and_unknown_fields(client, headers):
    customer = make_customer()
    url = f"/api/v1/customers/{customer.id}"
    h = headers(UserRole.STAFF)
    for body, field in (
        ({"user_id": MISSING_ID}, "user_id"),
        ({"created_at": "2024-01-01T00:00:00Z"}, "created_at"),
        ({"email": "nope"}, "email"),
        ({"email": None}, "email"),
        ({"first_name": ""}, "first_name"),
        ({"address": {"line1": "x"}}, "address"),
    ):
        response = client.put(url, json=body, headers=h)
        assert response.status_code == 422, body
        assert set(response.get_json()["error"]["details"]) == {field}, body
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).email == customer.email


def test_unknown_customer_is_404(client, headers):
    h = headers(UserRole.ADMIN)
    url = f"/api/v1/customers/{MISSING_ID}"
    for response in (
        client.get(url, headers=h),
        client.put(url, json={"first_name": "X"}, headers=h),
        client.delete(url, headers=h),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


# --- lists -------------------------------------------------------------------------------


def test_pages_cover_every_customer_once_in_each_sort(client, headers):
    h = headers(UserRole.STAFF)
    for n in range(7):
        make_customer(email=f"c{(n * 3) % 7}@example.test", last_name=f"Last{(n * 5) % 7}")
    for sort in ("-created_at", "created_at", "last_name", "-last_name", "email", "-email"):
        items, cursor = [], None
        while True:
            url = f"/api/v1/customers?limit=3&sort={sort}" + (f"&cursor={cursor}" if cursor else "")
            body = client.get(url, headers=h).get_json()
            assert len(body["items"]) <= 3
            items += body["items"]
            cursor = body["next_cursor"]
            if not cursor:
                break
        ids = [c["id"] for c in items]
        assert len(ids) == len(set(ids)) == 7, sort
        key = sort.lstrip("-")
        values = [c[key] for c in items]
        assert values == sorted(values, reverse=sort.startswith("-")), sort


def test_default_sort_is_newest_first(client, headers):
    first = make_customer()
    second = make_customer()
    items = client.get("/api/v1/customers", headers=headers(UserRole.ADMIN)).get_json()["items"]
    assert [c["id"] for c in items] == [str(second.id), str(first.id)]


def test_list_refuses_bad_sort_and_unknown_arguments(client, headers):
    h = headers(UserRole.STAFF)
    for url, field in (
        ("/api/v1/customers?sort=phone", "sort"),
        ("/api/v1/customers?cursor=xyz", "cursor"),
        ("/api/v1/customers?role=admin", "role"),
        ("/api/v1/customers?limit=201", "limit"),
    ):
        response = client.get(url, headers=h)
        assert response.status_code == 422, url
        assert set(response.get_json()["error"]["details"]) == {field}, url


def test_search_by_name_words_or_part_of_the_email(client, headers):
    h = headers(UserRole.STAFF)
    make_customer(email="ann@shop.test", first_name="Ann", last_name="Smithson")
    make_customer(email="bob@mail.test", first_name="Bob", last_name="Annis")
    make_customer(email="carol_x@corp.test", first_name="Carol", last_name="King")

    def search(q: str) -> list[str]:
        return sorted(emails(client.get("/api/v1/customers", query_string={"q": q}, headers=h)))

    assert search("smith") == ["ann@shop.test"]
    assert search("ann") == ["ann@shop.test", "bob@mail.test"]  # first name or last name
    assert search("ann smiths") == ["ann@shop.test"]  # every word must match
    assert search("mail.te") == ["bob@mail.test"]  # email substring
    assert search("@CORP") == ["carol_x@corp.test"]
    assert search("l_x@") == ["carol_x@corp.test"]  # _ is not a wildcard
    assert search("%") == []
    assert search("nobody") == []


# --- delete ------------------------------------------------------------------------------


def test_customer_without_orders_is_removed(client, headers):
    customer = make_customer()
    response = client.delete(f"/api/v1/customers/{customer.id}", headers=headers(UserRole.ADMIN))
    assert response.status_code == 204
    assert response.get_data() == b""
    db.session.expire_all()
    assert db.session.get(Customer, customer.id) is None


@pytest.mark.parametrize("status", sorted(OPEN_STATUSES))
def test_customer_with_an_open_order_cannot_be_deleted(client, headers, status):
    customer = make_customer(email="open@example.test")
    insert_order(customer, status=OrderStatus.DELIVERED, lines=[(make_product(), 1)])
    insert_order(customer, status=status)  # no lines: it holds no stock
    response = client.delete(f"/api/v1/customers/{customer.id}", headers=headers(UserRole.ADMIN))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert (error["code"], error["details"]) == ("customer_has_open_orders", {"open_orders": 1})
    db.session.expire_all()
    stored = db.session.get(Customer, customer.id)
    assert (stored.email, stored.first_name) == ("open@example.test", "Casey")


@pytest.mark.parametrize("status", CLOSED_STATUSES)
def test_customer_with_only_closed_orders_is_anonymised(client, headers, status):
    customer = make_customer(email="gone@example.test", phone="555", address=ADDRESS)
    order = insert_order(customer, status=status, lines=[(make_product(), 2)])
    response = client.delete(f"/api/v1/customers/{customer.id}", headers=headers(UserRole.ADMIN))
    assert response.status_code == 204
    db.session.expire_all()
    stored = db.session.get(Customer, customer.id)
    assert stored is not None
    assert (stored.email, stored.first_name, stored.last_name) == (
        f"deleted-{customer.id}@invalid",
        "Deleted",
        "customer",
    )
    assert (stored.phone, stored.address, stored.user_id) == (None, None, None)
    assert db.session.get(Order, order.id).customer_id == customer.id  # history kept


def test_anonymising_switches_off_the_linked_login(client, auth, headers):
    user = make_user(UserRole.CUSTOMER)
    customer_headers = auth.headers(user.email, PASSWORD)
    customer = db.session.scalar(sa.select(Customer).where(Customer.user_id == user.id))
    insert_order(customer, status=OrderStatus.CANCELLED, lines=[(make_product(), 1)])
    response = client.delete(f"/api/v1/customers/{customer.id}", headers=headers(UserRole.ADMIN))
    assert response.status_code == 204
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).user_id is None
    assert db.session.get(User, user.id).is_active is False
    assert client.get("/api/v1/auth/me", headers=customer_headers).status_code == 401
    # the freed email can be given to a new customer record
    again = client.post(
        "/api/v1/customers",
        json={"email": user.email, "first_name": "New", "last_name": "Person"},
        headers=headers(UserRole.STAFF),
    )
    assert again.status_code == 201


def test_removing_a_customer_switches_off_the_linked_login(client, auth, headers):
    user = make_user(UserRole.CUSTOMER)
    customer = db.session.scalar(sa.select(Customer).where(Customer.user_id == user.id))
    response = client.delete(f"/api/v1/customers/{customer.id}", headers=headers(UserRole.ADMIN))
    assert response.status_code == 204
    db.session.expire_all()
    assert db.session.get(Customer, customer.id) is None
    assert db.session.get(User, user.id).is_active is False
