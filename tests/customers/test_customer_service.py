"""Customer service rules that the API cannot reach on its own: races on email and delete."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms.customers import service
from oms.customers.models import Customer
from oms.db import transaction
from oms.errors import ConflictError
from oms.extensions import db
from oms.orders.enums import OrderStatus
from tests.factories import insert_order, make_customer, make_product


def test_email_taken_between_check_and_commit_is_still_409(app_ctx, monkeypatch):
    """A concurrent create passes the check too; the unique index then decides, as a 409."""
    make_customer(email="race@example.test")
    monkeypatch.setattr(service, "_check_email_free", lambda email, **_: None)
    with pytest.raises(ConflictError) as raised:
        service.create(email="race@example.test", first_name="A", last_name="B")
    assert raised.value.details == {"email": ["A customer with this email already exists."]}
    other = make_customer(email="other@example.test")
    with pytest.raises(ConflictError):
        service.update(customer_id=other.id, email="RACE@example.test")
    db.session.expire_all()
    assert db.session.get(Customer, other.id).email == "other@example.test"


def test_delete_holds_a_row_lock_until_commit(app_ctx):
    """New orders for the customer wait for the delete (their foreign key check locks the row)."""
    customer = make_customer()
    insert_order(customer, status=OrderStatus.DELIVERED, lines=[(make_product(), 1)])
    with transaction():
        service.delete(customer_id=customer.id)  # anonymises, inside this transaction
        with db.engine.connect() as other, pytest.raises(sa.exc.OperationalError):
            other.execute(
                sa.select(Customer.id)
                .where(Customer.id == customer.id)
                .with_for_update(key_share=True, nowait=True)
            )


def test_refused_delete_changes_nothing(app_ctx):
    customer = make_customer(email="keep@example.test", phone="1")
    insert_order(customer, status=OrderStatus.PENDING)
    with pytest.raises(ConflictError) as raised:
        service.delete(customer_id=customer.id)
    assert raised.value.details == {"open_orders": 1}
    db.session.expire_all()
    stored = db.session.get(Customer, customer.id)
    assert (stored.email, stored.phone) == ("keep@example.test", "1")
