"""Read side of orders: one order, the filtered list, a customer's history, search, and the
order as its caller sees it (with the statuses they may set next). Nothing here commits."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.customers.models import Customer
from oms.db import is_postgresql, utcnow
from oms.errors import NotFoundError
from oms.extensions import db
from oms.orders import lifecycle
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderItem, OrderNote, OrderStatusHistory
from oms.orders.schemas import OrderDetailSchema
from oms.pagination import Column
from oms.products.models import Product
from oms.search import CUSTOMER_NAME_TSVECTOR, PRODUCT_NAME_TSVECTOR, matches

# An order number, whole or its start, with or without the "ORD-": "ORD-5000", "500003", "3".
_NUMBER_RE = re.compile(r"^(?:ORD-?)?(\d+)$", re.IGNORECASE)

# A pending order is reserved within seconds (and swept every 30 s): one older than this is
# stuck, and counts as a problem beside the rejected ones.
PENDING_TOO_LONG = timedelta(minutes=10)

DETAIL_LOADS = (
    selectinload(Order.items).selectinload(OrderItem.product),
    selectinload(Order.customer),
    selectinload(Order.history).selectinload(OrderStatusHistory.changed_by),
)
# The same for an order read with its lock, in three statements: the order with its customer
# (joined: a customer row is never written under an order's lock), then its lines with their
# products and its history with who made each step. Those two are statements of their own on
# purpose: they start once the lock is held, so they see what the previous holder committed
# (joined into the locking SELECT, a statement that waited for the lock would see the lines
# and history as they were before, under READ COMMITTED). Users come with their customer
# record (``User.customer`` would otherwise be one more statement).
LOCKED_DETAIL_LOADS = (
    joinedload(Order.customer, innerjoin=True),
    selectinload(Order.items).joinedload(OrderItem.product, innerjoin=True),
    selectinload(Order.history).joinedload(OrderStatusHistory.changed_by).joinedload(User.customer),
)


def get(*, order_id: uuid.UUID, actor: User, lock: bool = False, detail: bool = False) -> Order:
    """One order; another customer's order is a 404, never a 403 (it does not exist for them).

    Without ``lock`` its detail (lines, customer, history) is loaded with it; with ``lock`` only
    when ``detail`` asks for it (a status command that answers with the order)."""
    query = sa.select(Order).where(Order.id == order_id)
    if lock:
        # FOR NO KEY UPDATE: blocks other writers of the order, not inserts that reference it
        query = query.with_for_update(of=Order, key_share=True).execution_options(
            populate_existing=True
        )
        if detail:
            query = query.options(*LOCKED_DETAIL_LOADS)
    else:
        query = query.options(*DETAIL_LOADS)
    order = db.session.scalars(query).one_or_none()
    if order is None or (actor.role == UserRole.CUSTOMER and not lifecycle.is_owner(order, actor)):
        raise NotFoundError("No such order.")
    return order


def get_all(
    *,
    actor: User,
    status: list[OrderStatus] | None = None,
    customer_id: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    total_min: Decimal | None = None,
    total_max: Decimal | None = None,
    payment_collected: bool | None = None,
    q: str | None = None,
    id: list[uuid.UUID] | None = None,
    problem: bool | None = None,
) -> sa.Select:
    """The orders ``actor`` may see, filtered (a query to page). Customers see only theirs.
    ``problem``: rejected, or pending for longer than ``PENDING_TOO_LONG`` (False: the rest)."""
    query = sa.select(Order)
    if actor.role == UserRole.CUSTOMER:
        own = actor.customer.id if actor.customer else None
        query = query.where(Order.customer_id == own)
    if status:
        query = query.where(Order.status.in_(status))
    if customer_id:
        query = query.where(Order.customer_id == customer_id)
    if product_id:
        query = query.where(
            sa.exists().where(OrderItem.order_id == Order.id, OrderItem.product_id == product_id)
        )
    if created_from:
        query = query.where(Order.created_at >= created_from)
    if created_to:
        query = query.where(Order.created_at < created_to)
    if total_min is not None:
        query = query.where(Order.total_amount >= total_min)
    if total_max is not None:
        query = query.where(Order.total_amount <= total_max)
    if payment_collected is not None:
        query = query.where(Order.payment_collected == payment_collected)
    if q:
        query = query.where(sa.or_(*search_terms(q)))
    return _table_filters(query, id=id, problem=problem)


def _table_filters(
    query: sa.Select, *, id: list[uuid.UUID] | None, problem: bool | None
) -> sa.Select:
    """The order table's own filters: a selection of ids, the problem view (or the rest)."""
    if id:
        query = query.where(Order.id.in_(id))
    if problem is not None:
        query = query.where(is_problem() if problem else sa.not_(is_problem()))
    return query


def is_problem() -> sa.ColumnElement[bool]:
    """Orders that need a person: rejected, or pending for longer than ``PENDING_TOO_LONG``."""
    stuck_since = utcnow() - PENDING_TOO_LONG
    return sa.or_(
        Order.status == OrderStatus.REJECTED,
        sa.and_(Order.status == OrderStatus.PENDING, Order.created_at < stuck_since),
    )


def status_of(*, order_id: uuid.UUID) -> OrderStatus | None:
    """The order's status as committed now (None: no such order); for tasks, not users."""
    return db.session.scalar(sa.select(Order.status).where(Order.id == order_id))


def customer_history(*, actor: User, customer_id: uuid.UUID) -> sa.Select:
    """A customer's orders (a query to page); an unknown customer is a 404."""
    if db.session.get(Customer, customer_id) is None:
        raise NotFoundError("No such customer.")
    return get_all(actor=actor, customer_id=customer_id)


def city_key(address: Column) -> sa.ColumnElement[str]:
    """The shipping city, lower-cased, as searched: on PostgreSQL the expression of the index
    ``ix_orders_city_key`` (NULL for an address whose text the JSON functions refuse)."""
    if is_postgresql():
        return sa.func.order_city_key(address, type_=sa.Text)
    return sa.func.lower(address["city"].as_string())


def search_terms(q: str) -> list[sa.ColumnElement[bool]]:
    """What ``q`` matches, as alternatives (an order matches any of them), each served by
    an index of its own: an order number (its start, or its digits without the zeros); or
    words matching the customer's name or their email, a product's name (the matching
    products first, from the small catalogue, then their orders' lines by product), or the
    shipping city. The list pages each on its own (``oms.pagination.paginate``'s ``any_of``);
    :func:`get_all` ORs them."""
    text = q.strip()
    number = _NUMBER_RE.match(text)
    if number:
        digits = number.group(1)
        return [
            sa.or_(Order.number.like(f"ORD-{digits}%"), Order.number == f"ORD-{int(digits):06d}")
        ]
    customers = sa.select(Customer.id).where(
        sa.or_(
            matches(CUSTOMER_NAME_TSVECTOR, [Customer.first_name, Customer.last_name], q),
            Customer.email == text.lower(),
        )
    )
    # The products first (a small table): the ids, as values, let the planner see how many
    # lines they have and read them by (product, order); none matching, no alternative.
    products = list(
        db.session.scalars(
            sa.select(Product.id).where(matches(PRODUCT_NAME_TSVECTOR, [Product.name], q))
        )
    )
    city = city_key(Order.shipping_address) == text.lower()
    terms = [Order.customer_id.in_(customers), city]
    if products:
        lines = sa.select(OrderItem.order_id).where(OrderItem.product_id.in_(products))
        terms.insert(1, Order.id.in_(lines))
    return terms


def present(order: Order, actor: User | None) -> Order:
    """Attach the statuses ``actor`` may set next (``allowed_statuses``), so a client offers
    only those actions: the one place that computes them for the API and the pages."""
    order.allowed_statuses = lifecycle.allowed_statuses(order, actor)  # type: ignore[attr-defined]
    return order


def notes_of(order_id: uuid.UUID) -> list[OrderNote]:
    """The order's internal notes, oldest first, with their authors."""
    return list(
        db.session.scalars(
            sa.select(OrderNote)
            .where(OrderNote.order_id == order_id)
            .options(joinedload(OrderNote.author).joinedload(User.customer))
            .order_by(OrderNote.created_at, OrderNote.id)
        )
    )


def present_detail(order: Order, actor: User | None) -> Order:
    """:func:`present`, and for staff the internal notes (``staff_notes``). For anyone else
    they are set to ``missing`` (the schema then leaves the field out), also on an order object
    a staff request of the same session already decorated."""
    present(order, actor)
    staff = actor is not None and actor.role.is_staff
    order.staff_notes = notes_of(order.id) if staff else ma.missing  # type: ignore[attr-defined]
    return order


def detail(*, order_id: uuid.UUID, actor: User) -> dict:
    """The order as ``actor`` sees it: lines, history, allowed next statuses (and notes for
    staff), rendered by the orders schema (the API's response and the pages' data alike)."""
    return OrderDetailSchema().dump(present_detail(get(order_id=order_id, actor=actor), actor))
