"""Order use cases: place, read, list, update, change status. Each owns its transaction."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from oms import events
from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.customers.models import Customer
from oms.db import MAX_MONEY, is_postgresql, retry_on_conflict, transaction
from oms.errors import NotFoundError, ValidationError
from oms.extensions import db
from oms.inventory import service as inventory
from oms.orders import idempotency, lifecycle
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderItem, OrderStatusHistory
from oms.outbox import service as outbox
from oms.products.models import Product
from oms.search import CUSTOMER_NAME_TSVECTOR, PRODUCT_NAME_TSVECTOR, matches

RESERVE_TASK = "inventory.reserve_order"
EDITABLE_LINES = frozenset({OrderStatus.PENDING, OrderStatus.PLACED})
EDITABLE_ADDRESS = frozenset({OrderStatus.PENDING, OrderStatus.PLACED, OrderStatus.PICKED})
_NUMBER_RE = re.compile(r"^ORD-\d{6,}$", re.IGNORECASE)

DETAIL_LOADS = (
    selectinload(Order.items).selectinload(OrderItem.product),
    selectinload(Order.customer),
    selectinload(Order.history),
)


def next_number() -> str:
    """The next readable order number: a sequence on PostgreSQL, max + 1 on SQLite. Call it in
    the :func:`~oms.db.transaction` that inserts the order: on SQLite that transaction holds the
    database's write lock from its start, so no other writer reads the same max before this
    order is committed."""
    if is_postgresql():
        n = db.session.scalar(sa.text("SELECT nextval('order_number_seq')"))
    else:
        # the longest number is the largest: as text, "ORD-1000000" sorts before "ORD-999999"
        last = db.session.scalar(
            sa.select(Order.number)
            .order_by(sa.func.length(Order.number).desc(), Order.number.desc())
            .limit(1)
        )
        n = int(last.split("-")[1]) + 1 if last else 1
    return f"ORD-{n:06d}"


def _publish(kind: str, order: Order, actor: User) -> None:
    events.publish(
        kind,
        order_id=str(order.id),
        number=order.number,
        customer_id=str(order.customer_id),
        status=order.status.value,
        total_amount=str(order.total_amount),
        actor=str(actor.id),
    )


def _staff(actor: User) -> bool:
    return actor.role in (UserRole.STAFF, UserRole.ADMIN)


def _customer_of(actor: User) -> Customer:
    if actor.customer is None:
        raise ValidationError("This account has no customer record to order for.")
    return actor.customer


def _price_lines(lines: list[dict]) -> tuple[list[OrderItem], dict[uuid.UUID, int], dict]:
    """Order items priced from the catalogue (never from the client); duplicate products are
    merged. Unknown or inactive products are a 422 naming the line."""
    units: dict[uuid.UUID, int] = {}
    for line in lines:
        units[line["product_id"]] = units.get(line["product_id"], 0) + line["quantity"]
    products = {
        p.id: p for p in db.session.scalars(sa.select(Product).where(Product.id.in_(list(units))))
    }
    errors = {
        str(i): {"product_id": ["No such product, or it is not for sale."]}
        for i, line in enumerate(lines)
        if line["product_id"] not in products or not products[line["product_id"]].active
    }
    if errors:
        raise ValidationError("Some lines cannot be ordered.", details={"items": errors})
    items = [
        OrderItem(
            product_id=pid,
            product=products[pid],
            quantity=n,
            unit_price=products[pid].price,
            total_price=(products[pid].price * n).quantize(Decimal("0.01")),
        )
        for pid, n in units.items()
    ]
    return items, units, products


def _total(items: list[OrderItem]) -> Decimal:
    """The order total; one beyond what the books can hold is a 422, not a database error."""
    total = sum((i.total_price for i in items), Decimal("0.00"))
    if total > MAX_MONEY:
        raise ValidationError(
            "The order total is too large.", details={"items": [f"The total exceeds {MAX_MONEY}."]}
        )
    return total


def _refuse_obvious_shortage(units: dict[uuid.UUID, int], products: dict) -> None:
    """More than is available right now is refused at once (the worker decides the rest)."""
    shortages = inventory.find_shortages(units, products)
    if shortages:
        raise inventory.InsufficientStockError(shortages)


def _check_staff_fields(actor: User, fields: dict, names: tuple[str, ...]) -> None:
    forbidden = [n for n in names if n in fields and not _staff(actor)]
    if forbidden:
        raise ValidationError(
            "Some fields may only be set by staff.",
            details={n: ["Only staff may set this field."] for n in forbidden},
        )


@retry_on_conflict
def place_order(
    *,
    actor: User,
    items: list[dict],
    shipping_address: dict | None = None,
    customer_id: uuid.UUID | None = None,
    payment_collected: bool | None = None,
    idempotency_key: str | None = None,
    idempotency_body: dict | None = None,
    render=None,
) -> tuple[Order | None, dict | None]:
    """Accept an order in status ``pending`` with its lines and first history row, and write
    the reservation task to the outbox, all in one transaction. ``render(order)`` builds the
    response. With ``idempotency_key`` the key is claimed in that same transaction (for the
    request ``idempotency_body``) and the response stored with it; a key already answered
    returns (None, the stored response) and changes nothing. Returns (order, response)."""
    fields = {"customer_id": customer_id, "payment_collected": payment_collected}
    _check_staff_fields(actor, {k: v for k, v in fields.items() if v is not None}, tuple(fields))
    with transaction() as session:
        if idempotency_key:
            stored = idempotency.claim(
                user_id=actor.id, key=idempotency_key, body=idempotency_body or {}
            )
            if stored is not None:
                return None, stored.response_body
        if _staff(actor):
            if customer_id is None:
                raise ValidationError(
                    "Staff must say which customer the order is for.",
                    details={"customer_id": ["Missing data for required field."]},
                )
            customer = session.get(Customer, customer_id)
            if customer is None:
                raise ValidationError(
                    "No such customer.", details={"customer_id": ["No such customer."]}
                )
        else:
            customer = _customer_of(actor)
        address = shipping_address or customer.address
        if not address:
            raise ValidationError(
                "A shipping address is required.",
                details={"shipping_address": ["Missing data for required field."]},
            )
        order_items, units, products = _price_lines(items)
        _refuse_obvious_shortage(units, products)
        order = Order(
            number=next_number(),
            customer=customer,
            customer_id=customer.id,
            created_by_user_id=actor.id,
            status=OrderStatus.PENDING,
            payment_collected=bool(payment_collected),
            total_amount=_total(order_items),
            shipping_address=address,
            status_updated_by=actor.id,
            items=order_items,
        )
        session.add(order)
        session.flush()
        session.add(
            OrderStatusHistory(
                order_id=order.id,
                old_status=None,
                new_status=OrderStatus.PENDING,
                changed_by_user_id=actor.id,
                notes="Order received.",
            )
        )
        outbox.enqueue(RESERVE_TASK, order_id=str(order.id))
        _publish("order.created", order, actor)
        rendered = None
        if render is not None:
            session.flush()
            rendered = render(order)
            if idempotency_key:
                idempotency.complete(
                    user_id=actor.id, key=idempotency_key, status=202, body=rendered
                )
    return order, rendered


def get(*, order_id: uuid.UUID, actor: User, lock: bool = False) -> Order:
    """One order; another customer's order is a 404, never a 403 (it does not exist for them)."""
    query = sa.select(Order).where(Order.id == order_id)
    if lock:
        # FOR NO KEY UPDATE: blocks other writers of the order, not inserts that reference it
        query = query.with_for_update(of=Order, key_share=True).execution_options(
            populate_existing=True
        )
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
) -> sa.Select:
    """The orders ``actor`` may see, filtered (a query to page). Customers see only theirs."""
    query = sa.select(Order).options(
        selectinload(Order.items).selectinload(OrderItem.product), selectinload(Order.customer)
    )
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
        query = query.where(_text_search(q))
    return query


def customer_history(*, actor: User, customer_id: uuid.UUID) -> sa.Select:
    """A customer's orders (a query to page); an unknown customer is a 404."""
    if db.session.get(Customer, customer_id) is None:
        raise NotFoundError("No such customer.")
    return get_all(actor=actor, customer_id=customer_id)


def _text_search(q: str) -> sa.ColumnElement[bool]:
    """An order number, or words matching the customer's or a product's name."""
    if _NUMBER_RE.match(q.strip()):
        return Order.number == q.strip().upper()
    customers = sa.select(Customer.id).where(
        sa.or_(
            matches(CUSTOMER_NAME_TSVECTOR, [Customer.first_name, Customer.last_name], q),
            Customer.email == q.strip().lower(),
        )
    )
    products = (
        sa.select(OrderItem.order_id)
        .join(Product, Product.id == OrderItem.product_id)
        .where(matches(PRODUCT_NAME_TSVECTOR, [Product.name], q))
    )
    return sa.or_(Order.customer_id.in_(customers), Order.id.in_(products))


@retry_on_conflict
def update(
    *,
    order_id: uuid.UUID,
    actor: User,
    shipping_address: dict | None = None,
    payment_collected: bool | None = None,
    items: list[dict] | None = None,
) -> Order:
    """Change the shipping address (until shipped), payment_collected (staff), and the lines
    (while pending or placed; a placed order is re-reserved in the same transaction, and a
    shortage refuses the whole change). Changed lines are priced from today's catalogue."""
    _check_staff_fields(
        actor,
        {"payment_collected": payment_collected} if payment_collected is not None else {},
        ("payment_collected",),
    )
    with transaction() as session:
        order = get(order_id=order_id, actor=actor, lock=True)
        if shipping_address is not None:
            if order.status not in EDITABLE_ADDRESS:
                raise lifecycle.NotEditableError(order, "shipping_address", EDITABLE_ADDRESS)
            order.shipping_address = shipping_address
        if payment_collected is not None:
            order.payment_collected = payment_collected
        if items is not None:
            if order.status not in EDITABLE_LINES:
                raise lifecycle.NotEditableError(order, "items", EDITABLE_LINES)
            _replace_lines(order, items)
        session.flush()
        _publish("order.updated", order, actor)
    return order


def _replace_lines(order: Order, lines: list[dict]) -> None:
    old_units = inventory.units_by_product(order.items)
    # Lock before pricing: a product row loaded without its lock keeps the reserved_count it
    # was read with, and writing it back would lose a reservation committed in between.
    products = inventory.lock_products([*old_units, *(line["product_id"] for line in lines)])
    new_items, new_units, _ = _price_lines(lines)
    if order.status == OrderStatus.PLACED:
        inventory.release(old_units, products)
        shortages = inventory.find_shortages(new_units, products)
        if shortages:
            raise inventory.InsufficientStockError(shortages)
        inventory.reserve(new_units, products)
        inventory.publish_changed(products.values())
    else:
        _refuse_obvious_shortage(new_units, products)
    order.items = new_items
    order.total_amount = _total(new_items)


@retry_on_conflict
def change_status(
    *, order_id: uuid.UUID, actor: User, status: OrderStatus, notes: str | None = None
) -> Order:
    """Move an order to ``status`` if the lifecycle allows it for ``actor``, with its stock
    effect (cancel releases a reservation, ship takes the units out of stock), its history row
    and its event, in one transaction. The order row is locked, so of two conflicting commands
    exactly one wins and the other gets a 409."""
    from workflows.order_lifecycle import EVENT_FOR_STATUS

    with transaction():
        order = get(order_id=order_id, actor=actor, lock=True)
        event = EVENT_FOR_STATUS.get(status)
        if event is None:
            raise lifecycle.refuse(order, actor, status.value)
        old = lifecycle.transition(order, event, actor=actor, notes=notes)
        units = inventory.units_by_product(order.items)
        if event == "cancel" and old in (OrderStatus.PLACED, OrderStatus.PICKED):
            products = inventory.lock_products(units)
            inventory.release(units, products)
            inventory.publish_changed(products.values())
        elif event == "ship":
            products = inventory.lock_products(units)
            inventory.take_out(units, products)
            inventory.publish_changed(products.values())
    return order
