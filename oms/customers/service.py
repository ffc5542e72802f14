"""Customer use cases: list, read, create, update and delete customer records.

Emails are unique and stored lower-case. Changing a customer's email changes the contact
address on the record only, never the login email of a linked user.

Deleting a customer (:func:`delete`):

- refused (CustomerHasOpenOrders) while the customer has an order in ``OPEN_STATUSES``, because that
  order still holds or may still take stock and must still be fulfilled or cancelled;
- with no orders at all, the record is removed;
- with only closed orders, the record is kept, because those orders must keep pointing at it
  (``orders.customer_id`` is ``ON DELETE RESTRICT``) for accounting and history, but its personal
  data is anonymised: email ``deleted-<id>@invalid``, name "Deleted customer", no phone or
  address, and the link to the login is cut.

In both cases where the customer goes away, the linked login (if any) is deactivated, so no
customer account is left without its customer record.
"""

from __future__ import annotations

import re
import uuid
from typing import cast

import sqlalchemy as sa

from oms.audit import service as audit
from oms.auth.emails import normalize_email
from oms.customers.errors import CustomerHasOpenOrders, EmailTaken
from oms.customers.models import Customer
from oms.db import transaction
from oms.errors import NotFoundError
from oms.extensions import db
from oms.orders.enums import OPEN_STATUSES
from oms.orders.models import Order
from oms.search import CUSTOMER_NAME_TSVECTOR, matches

# Distinguishes "not given" from an explicit None (which clears a nullable field).
_UNSET: object = object()
_EMAIL_CONSTRAINT = "uq_customers_email"


def _key(customer_id: uuid.UUID | str) -> uuid.UUID:
    try:
        return uuid.UUID(str(customer_id))
    except ValueError as exc:
        raise NotFoundError("No such customer.") from exc


def get(*, customer_id: uuid.UUID | str) -> Customer:
    """The customer with this id, or NotFoundError."""
    customer = db.session.get(Customer, _key(customer_id))
    if customer is None:
        raise NotFoundError("No such customer.")
    return customer


def _get_for_update(customer_id: uuid.UUID | str) -> Customer:
    """The customer row locked until the end of the transaction, with fresh values."""
    customer = db.session.scalar(
        sa.select(Customer)
        .where(Customer.id == _key(customer_id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if customer is None:
        raise NotFoundError("No such customer.")
    return customer


def get_all(*, q: str | None = None) -> sa.Select:
    """Customers (a query to page); ``q`` matches name words or any part of the email."""
    query = sa.select(Customer)
    q = (q or "").strip()
    if q:
        in_email = Customer.email.icontains(q, autoescape=True)
        if re.search(r"\w", q):
            in_name = matches(
                CUSTOMER_NAME_TSVECTOR, [Customer.first_name, Customer.last_name, Customer.email], q
            )
            query = query.where(sa.or_(in_name, in_email))
        else:  # no words to search names with (e.g. "@"): only the email can match
            query = query.where(in_email)
    return query


def _check_email_free(email: str, *, except_id: uuid.UUID | None = None) -> None:
    query = sa.select(Customer.id).where(Customer.email == email)
    if except_id is not None:
        query = query.where(Customer.id != except_id)
    if db.session.scalar(query) is not None:
        raise EmailTaken()


def _raise_if_email_taken(error: sa.exc.IntegrityError, email: str | None) -> None:
    """Turn the unique-email violation of a concurrent write into the same 409 as the check."""
    if email is not None and _EMAIL_CONSTRAINT in str(error.orig):
        raise EmailTaken() from error


def create(
    *,
    email: str,
    first_name: str,
    last_name: str,
    phone: str | None = None,
    address: dict | None = None,
) -> Customer:
    """Create a customer record (without a login); the email must be unused (EmailTaken)."""
    email = normalize_email(email)
    try:
        with transaction() as session:
            _check_email_free(email)
            customer = Customer(
                email=email,
                first_name=first_name.strip(),
                last_name=last_name.strip(),
                phone=phone,
                address=address,
            )
            session.add(customer)
            session.flush()
            audit.record(
                "customer.created",
                entity_type="customer",
                entity_id=customer.id,
                after=audit.snapshot(customer, audit.CUSTOMER_FIELDS),
            )
    except sa.exc.IntegrityError as exc:
        _raise_if_email_taken(exc, email)
        raise
    return customer


def update(
    *,
    customer_id: uuid.UUID | str,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    phone: str | object | None = _UNSET,
    address: dict | object | None = _UNSET,
) -> Customer:
    """Change the given fields; a new email must be unused (EmailTaken). ``phone`` and
    ``address`` may be None to clear them."""
    email = normalize_email(email) if email is not None else None
    try:
        with transaction():
            customer = get(customer_id=customer_id)
            before = audit.snapshot(customer, audit.CUSTOMER_FIELDS)
            if email is not None and email != customer.email:
                _check_email_free(email, except_id=customer.id)
                customer.email = email
            if first_name is not None:
                customer.first_name = first_name.strip()
            if last_name is not None:
                customer.last_name = last_name.strip()
            if phone is not _UNSET:
                customer.phone = cast("str | None", phone)
            if address is not _UNSET:
                customer.address = cast("dict | None", address)
            audit.record_change(
                "customer.updated",
                entity_type="customer",
                entity_id=customer.id,
                before=before,
                after=audit.snapshot(customer, audit.CUSTOMER_FIELDS),
            )
    except sa.exc.IntegrityError as exc:
        _raise_if_email_taken(exc, email)
        raise
    return customer


def _deactivate_login(customer: Customer) -> None:
    """Switch off the customer's login (it loses access at once) and unlink it."""
    if customer.user is not None:
        customer.user.is_active = False
        customer.user = None


def delete(*, customer_id: uuid.UUID | str) -> None:
    """Delete a customer: refused while an order is open, removed when there are no orders,
    anonymised when there are only closed ones (see the module docstring for why)."""
    with transaction() as session:
        # The row lock makes a concurrent new order for this customer wait (its foreign key
        # check needs a share lock on the row), so the order check below cannot miss one.
        customer = _get_for_update(customer_id)
        open_orders, all_orders = session.execute(
            sa.select(
                sa.func.count().filter(Order.status.in_(OPEN_STATUSES)), sa.func.count()
            ).where(Order.customer_id == customer.id)
        ).one()
        if open_orders:
            raise CustomerHasOpenOrders(open_orders)
        audit.record(
            "customer.deleted" if not all_orders else "customer.anonymised",
            entity_type="customer",
            entity_id=customer.id,
        )
        _deactivate_login(customer)
        if not all_orders:
            session.delete(customer)
            return
        customer.email = f"deleted-{customer.id}@invalid"
        customer.first_name = "Deleted"
        customer.last_name = "customer"
        customer.phone = None
        customer.address = None
