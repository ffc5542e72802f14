"""Order use cases, one function per use case, verb first; each owns its transaction.

This is the one module that says what happens to an order. A status change is decided by the
lifecycle machine (``workflows.order_lifecycle``) and recorded here, in one transaction: the
order's status and audit fields, a history row, its stock effect (the arithmetic lives in
``oms.inventory.service``: reserve, release, take out), the customer's notification (its row,
swept if its task is lost, for the statuses the lifecycle says the customer hears of) and the
event.

    place_order      pending, lines priced from the catalogue, reservation task in the outbox
    reserve_orders   pending -> placed (stock reserved) or rejected (the reason in the history)
    pick_order       placed -> picked
    ship_order       picked -> shipped (the units leave stock)
    deliver_order    shipped -> delivered
    cancel_order     pending | placed | picked -> cancelled (a reservation is released)
    change_status    the one of those a status command names (one order of a bulk command)
    change_status_detail  the same, answered with the order's detail (``PATCH .../status``)
    add_note         an internal note on an order (staff; never shown to the customer)
    reorder          a new order with a past order's lines, through place_order
    change_statuses  one status command for many orders, each in its own transaction
    update_order     address, payment, lines (a placed order is re-reserved)
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from oms import tasks
from oms.auth.models import User
from oms.customers.models import Customer
from oms.db import MAX_MONEY, is_postgresql, retry_on_conflict, transaction, utcnow
from oms.errors import AuthorizationError, OMSError, ValidationError
from oms.extensions import db
from oms.inventory import service as inventory
from oms.inventory.errors import InsufficientStock
from oms.notifications import service as notifications
from oms.orders import carriers, idempotency, lifecycle, queries
from oms.orders import events as order_events
from oms.orders.enums import OrderStatus
from oms.orders.errors import OrderNotEditable, ReorderUnavailable
from oms.orders.models import Order, OrderItem, OrderNote, OrderStatusHistory
from oms.orders.schemas import OrderDetailSchema
from oms.outbox import service as outbox
from oms.products.models import Product
from workflows.order_lifecycle import EVENT_FOR_STATUS, NOTIFY_CUSTOMER, TransitionRefused, apply

EDITABLE_LINES = frozenset({OrderStatus.PENDING, OrderStatus.PLACED})
EDITABLE_ADDRESS = frozenset({OrderStatus.PENDING, OrderStatus.PLACED, OrderStatus.PICKED})
# Orders one bulk status command may name: a page of 200 and a warehouse wave fit, and the
# request still ends in seconds (each order is a transaction of its own).
MAX_BULK_ORDERS = 500


@dataclass(frozen=True)
class Placement:
    """What a submission led to: the new order and its response, or (``order`` None) the
    stored response of the key's first submission, replayed."""

    response: dict
    order: Order | None

    @property
    def replayed(self) -> bool:
        """Whether this is the replay of an earlier submission with the same key."""
        return self.order is None


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


def _check_staff_fields(actor: User, fields: dict, names: tuple[str, ...]) -> None:
    forbidden = [n for n in names if n in fields and not actor.role.is_staff]
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
) -> Placement:
    """Accept an order in status ``pending`` with its lines and first history row, and write
    the reservation task to the outbox, all in one transaction; the response is the order as
    the submitter sees it. With ``idempotency_key`` the key is claimed in that same transaction
    and the response stored with it (a failure leaves no claim behind); a key already answered
    replays the stored response and changes nothing."""
    fields = {"customer_id": customer_id, "payment_collected": payment_collected}
    _check_staff_fields(actor, {k: v for k, v in fields.items() if v is not None}, tuple(fields))
    request = {"items": items, "shipping_address": shipping_address, **fields}
    with transaction() as session:
        if idempotency_key:
            stored = idempotency.claim(
                user_id=actor.id,
                key=idempotency_key,
                body={k: v for k, v in request.items() if v is not None},
            )
            if stored is not None:
                return Placement(response=stored.response_body or {}, order=None)
        if actor.role.is_staff:
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
        # more than is available right now is refused at once (the worker decides the rest)
        inventory.refuse_shortages(units, products)
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
            # in memory too: the response shows it without reading it back
            history=[
                OrderStatusHistory(
                    old_status=None,
                    new_status=OrderStatus.PENDING,
                    changed_by_user_id=actor.id,
                    notes="Order received.",
                )
            ],
        )
        session.add(order)
        session.flush()
        outbox.enqueue(tasks.RESERVE_ORDER, order_id=str(order.id))
        order_events.order_saved("order.created", order, actor)
        session.flush()
        response = OrderDetailSchema().dump(queries.present(order, actor))
        if idempotency_key:
            idempotency.complete(user_id=actor.id, key=idempotency_key, status=202, body=response)
    return Placement(response=response, order=order)


@retry_on_conflict
def update_order(
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
        order = queries.get(order_id=order_id, actor=actor, lock=True)
        if shipping_address is not None:
            if order.status not in EDITABLE_ADDRESS:
                raise OrderNotEditable(order, "shipping_address", EDITABLE_ADDRESS)
            order.shipping_address = shipping_address
        if payment_collected is not None:
            order.payment_collected = payment_collected
        if items is not None:
            if order.status not in EDITABLE_LINES:
                raise OrderNotEditable(order, "items", EDITABLE_LINES)
            _replace_lines(order, items)
        session.flush()
        order_events.order_saved("order.updated", order, actor)
    return order


def _replace_lines(order: Order, lines: list[dict]) -> None:
    old_units = inventory.units_by_product(order.items)
    # Lock before pricing: a product row loaded without its lock keeps the reserved_count it
    # was read with, and writing it back would lose a reservation committed in between.
    products = inventory.lock_products([*old_units, *(line["product_id"] for line in lines)])
    new_items, new_units, _ = _price_lines(lines)
    if order.status == OrderStatus.PLACED:
        inventory.release(old_units, products)
        inventory.refuse_shortages(new_units, products)
        inventory.reserve(new_units, products)
        inventory.publish_changed(products.values())
    else:
        inventory.refuse_shortages(new_units, products)
    order.items = new_items
    order.total_amount = _total(new_items)


# -- status changes ---------------------------------------------------------------------------


def _record_transition(
    order: Order, event: str, *, actor: User | None, notes: str | None
) -> OrderStatus:
    """Move ``order`` by ``event`` as ``actor`` (None: the system) if the lifecycle allows it:
    status, audit fields, history row, the customer's notification and the event, in the
    caller's transaction. Returns the old status."""
    old = order.status
    role = actor.role if actor else None
    try:
        new = apply(old, event, actor_role=role, is_owner=lifecycle.is_owner(order, actor))
    except TransitionRefused as exc:
        raise lifecycle.refuse(order, actor, event) from exc
    now = utcnow()
    order.status = new
    order.status_updated_at = now
    order.status_updated_by = actor.id if actor else None
    # through the relationship, so an order whose history was loaded (a status command that
    # answers with it) shows the new step without reading it back; an unloaded history is not
    # loaded for it
    step = OrderStatusHistory(
        order=order,
        old_status=old,
        new_status=new,
        changed_by_user_id=actor.id if actor else None,
        notes=notes,
        created_at=now,
    )
    if actor is not None and actor in db.session:  # an actor of another session is not adopted
        step.changed_by = actor
    db.session.add(step)
    if new in NOTIFY_CUSTOMER:
        notifications.queue_order_status(order, new)
    order_events.status_changed(order, old=old, actor=actor, notes=notes, at=now)
    return old


StockEffect = Callable[[Order, OrderStatus], None]


def _no_stock_effect(order: Order, old: OrderStatus) -> None:
    return None


def _release_reservation(order: Order, old: OrderStatus) -> None:
    """Cancel: a placed or picked order gives its reservation back (a pending one held none)."""
    if old in (OrderStatus.PLACED, OrderStatus.PICKED):
        units = inventory.units_by_product(order.items)
        products = inventory.lock_products(units)
        inventory.release(units, products)
        inventory.publish_changed(products.values())


def _take_out_of_stock(order: Order, old: OrderStatus) -> None:
    """Ship: the reserved units leave the building."""
    units = inventory.units_by_product(order.items)
    products = inventory.lock_products(units)
    inventory.take_out(units, products)
    inventory.publish_changed(products.values())


STOCK_EFFECTS: dict[str, StockEffect] = {
    "pick": _no_stock_effect,
    "ship": _take_out_of_stock,
    "deliver": _no_stock_effect,
    "cancel": _release_reservation,
}


def _check_carrier(code: str | None) -> None:
    if code is not None and carriers.get(code) is None:
        known = ", ".join(c["code"] for c in carriers.all_carriers())
        raise ValidationError(
            "Unknown carrier.",
            details={"carrier": [f"Not a carrier of this shop; use one of {known}."]},
        )


@retry_on_conflict
def _move(
    *,
    order_id: uuid.UUID,
    actor: User,
    event: str,
    notes: str | None,
    carrier: str | None = None,
    tracking_number: str | None = None,
    detail: bool = False,
) -> tuple[Order, dict | None]:
    """One staff or customer status command: lock the order (of two conflicting commands
    exactly one wins, the other gets a 409), record the transition, apply its stock effect.
    Shipping records the carrier and tracking number first, so the event carries them.

    With ``detail`` the order is locked with what its detail shows and the answer (the order
    as ``actor`` sees it now) is rendered before the commit, as :func:`place_order` does:
    nothing is read again after it (a commit expires every loaded row)."""
    if event != "ship" and (carrier or tracking_number):
        raise ValidationError(
            "A carrier and tracking number go with shipping only.",
            details={
                name: ["Only when the status is shipped."]
                for name, value in (("carrier", carrier), ("tracking_number", tracking_number))
                if value
            },
        )
    _check_carrier(carrier)
    response = None
    with transaction():
        order = queries.get(order_id=order_id, actor=actor, lock=True, detail=detail)
        effect = STOCK_EFFECTS.get(event)
        if effect is None:  # reserve and reject are the worker's, never a command
            raise lifecycle.refuse(order, actor, event)
        if event == "ship":
            order.carrier = carrier
            order.tracking_number = tracking_number.strip() if tracking_number else None
        old = _record_transition(order, event, actor=actor, notes=notes)
        effect(order, old)
        if detail:
            response = OrderDetailSchema().dump(queries.present_detail(order, actor))
    return order, response


def pick_order(*, order_id: uuid.UUID, actor: User, notes: str | None = None) -> Order:
    """placed -> picked (staff)."""
    return _move(order_id=order_id, actor=actor, event="pick", notes=notes)[0]


def ship_order(
    *,
    order_id: uuid.UUID,
    actor: User,
    notes: str | None = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
) -> Order:
    """picked -> shipped (staff): the units leave stock; the carrier and tracking number are
    recorded when given."""
    order, _ = _move(
        order_id=order_id,
        actor=actor,
        event="ship",
        notes=notes,
        carrier=carrier,
        tracking_number=tracking_number,
    )
    return order


def deliver_order(*, order_id: uuid.UUID, actor: User, notes: str | None = None) -> Order:
    """shipped -> delivered (staff)."""
    return _move(order_id=order_id, actor=actor, event="deliver", notes=notes)[0]


def cancel_order(*, order_id: uuid.UUID, actor: User, notes: str | None = None) -> Order:
    """pending | placed | picked -> cancelled (staff; the customer while pending or placed):
    a reservation is released."""
    return _move(order_id=order_id, actor=actor, event="cancel", notes=notes)[0]


def change_status(
    *,
    order_id: uuid.UUID,
    actor: User,
    status: OrderStatus,
    notes: str | None = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
) -> Order:
    """The status command (one order of ``POST /orders/bulk-status``): the use case that leads
    to ``status`` (shipping takes the carrier and tracking number)."""
    event = EVENT_FOR_STATUS.get(OrderStatus(status), status.value)
    order, _ = _move(
        order_id=order_id,
        actor=actor,
        event=event,
        notes=notes,
        carrier=carrier,
        tracking_number=tracking_number,
    )
    return order


def change_status_detail(
    *,
    order_id: uuid.UUID,
    actor: User,
    status: OrderStatus,
    notes: str | None = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
) -> dict:
    """The status command ``PATCH /orders/:id/status``: :func:`change_status`, answered with
    the order's detail as ``actor`` sees it after the change, rendered in the transaction from
    the rows it locked (no read after the commit)."""
    event = EVENT_FOR_STATUS.get(OrderStatus(status), status.value)
    _, response = _move(
        order_id=order_id,
        actor=actor,
        event=event,
        notes=notes,
        carrier=carrier,
        tracking_number=tracking_number,
        detail=True,
    )
    return response or {}


def _unavailable_lines(order: Order) -> list[dict]:
    """The lines of ``order`` that cannot be ordered again now, each in words."""
    products = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Product)
            .where(Product.id.in_([i.product_id for i in order.items]))
            .execution_options(populate_existing=True)
        )
    }
    lines = []
    for item in order.items:
        product = products[item.product_id]
        available = max(product.inventory_count - product.reserved_count, 0)
        if not product.active:
            reason, message = "inactive", f"{product.name} is no longer sold."
        elif available < item.quantity:
            reason = "out_of_stock"
            message = (
                f"{product.name} is out of stock."
                if available == 0
                else f"Only {available} {product.name} available; the order had {item.quantity}."
            )
        else:
            continue
        lines.append(
            {
                "product_id": str(product.id),
                "product_name": product.name,
                "wanted": item.quantity,
                "available": available if product.active else 0,
                "reason": reason,
                "message": message,
            }
        )
    return lines


def reorder(*, order_id: uuid.UUID, actor: User, idempotency_key: str | None = None) -> Placement:
    """Place a past order again: the same lines (priced from today's catalogue) to the same
    address, through :func:`place_order` and so its checks and its ``Idempotency-Key``. A line
    no longer sold or not in stock refuses the whole reorder with
    :class:`~oms.orders.errors.ReorderUnavailable`, which explains each such line."""
    past = queries.get(order_id=order_id, actor=actor)
    items = [{"product_id": i.product_id, "quantity": i.quantity} for i in past.items]
    try:
        return place_order(
            actor=actor,
            items=items,
            shipping_address=past.shipping_address,
            customer_id=past.customer_id if actor.role.is_staff else None,
            idempotency_key=idempotency_key,
        )
    except (ValidationError, InsufficientStock) as exc:
        lines = _unavailable_lines(past)
        if not lines:
            raise
        raise ReorderUnavailable(past, lines) from exc


@retry_on_conflict
def add_note(*, order_id: uuid.UUID, actor: User, body: str) -> OrderNote:
    """An internal note on the order by ``actor`` (staff or admin; the route checks the role):
    shown on the order's timeline for staff, never to the customer."""
    if not actor.role.is_staff:
        raise AuthorizationError("Only staff may write notes on an order.")
    with transaction() as session:
        order = queries.get(order_id=order_id, actor=actor)
        note = OrderNote(order_id=order.id, author_user_id=actor.id, body=body.strip())
        note.author = actor
        session.add(note)
        session.flush()
    return note


@dataclass(frozen=True)
class BulkOutcome:
    """What one order of a bulk command led to: its new status, or the refusal."""

    order_id: uuid.UUID
    status: OrderStatus | None = None
    error: OMSError | None = None


def change_statuses(
    *, order_ids: list[uuid.UUID], actor: User, status: OrderStatus, notes: str | None = None
) -> list[BulkOutcome]:
    """The status command for many orders (``POST /orders/bulk-status``): each order runs
    :func:`change_status` in its own transaction, so one refusal (the lifecycle, a missing
    order, a conflict) rolls back only that order. Duplicates are done and answered once, in
    the order first named; more than ``MAX_BULK_ORDERS`` distinct orders is a 422."""
    distinct = list(dict.fromkeys(order_ids))
    if len(distinct) > MAX_BULK_ORDERS:
        raise ValidationError(
            "Too many orders for one command.",
            details={"order_ids": [f"Send at most {MAX_BULK_ORDERS} orders at a time."]},
        )
    outcomes = []
    for order_id in distinct:
        try:
            order = change_status(order_id=order_id, actor=actor, status=status, notes=notes)
        except OMSError as exc:  # a refusal of this order only (its transaction rolled back)
            outcomes.append(BulkOutcome(order_id=order_id, error=exc))
        else:
            outcomes.append(BulkOutcome(order_id=order_id, status=order.status))
    return outcomes


@retry_on_conflict
def reserve_orders(
    *, order_ids: list[uuid.UUID] | None = None, limit: int = 100
) -> list[tuple[uuid.UUID, OrderStatus]]:
    """Reserve stock for pending orders in one transaction: each order all-or-nothing, placed
    when every line fits, rejected (with the reason) otherwise, first come first served.
    Pending orders are claimed with ``SKIP LOCKED``, so several workers share a backlog and one
    transaction can take a whole batch (a flash sale); orders no longer pending are ignored,
    so running twice changes nothing. Returns (order id, new status) for each order decided."""
    with transaction() as session:
        query = (
            sa.select(Order)
            .where(Order.status == OrderStatus.PENDING)
            .order_by(Order.created_at, Order.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Order, key_share=True)
            .execution_options(populate_existing=True)
        )
        if order_ids is not None:
            query = query.where(Order.id.in_(order_ids))
        orders = session.scalars(query).all()
        if not orders:
            return []
        items = session.scalars(
            sa.select(OrderItem).where(OrderItem.order_id.in_([o.id for o in orders]))
        ).all()
        lines: dict[uuid.UUID, list[OrderItem]] = defaultdict(list)
        for item in items:
            lines[item.order_id].append(item)
        products = inventory.lock_products(item.product_id for item in items)
        decided = []
        changed: dict[uuid.UUID, Product] = {}
        for order in orders:
            units = inventory.units_by_product(lines[order.id])
            shortages = inventory.find_shortages(units, products)
            if shortages:
                reason = " ".join(s.describe() for s in shortages)
                _record_transition(order, "reject", actor=None, notes=reason)
            else:
                inventory.reserve(units, products)
                changed.update({pid: products[pid] for pid in units})
                _record_transition(order, "reserve", actor=None, notes=None)
            decided.append((order.id, order.status))
        inventory.publish_changed(changed.values())
    return decided


def reserve_with_backlog(*, order_id: uuid.UUID, batch_size: int) -> OrderStatus | None:
    """The reservation task's use case: decide the oldest pending orders, up to
    ``batch_size``, in one transaction (a burst is decided at the batch's rate and the later
    tasks find their orders decided), then ``order_id`` on its own if the batch did not
    reach it. Returns its status now: still ``pending`` when another transaction holds it."""
    for decided_id, status in reserve_orders(limit=batch_size):
        if decided_id == order_id:
            return status
    decided = reserve_orders(order_ids=[order_id], limit=1)
    if decided:
        return decided[0][1]
    return queries.status_of(order_id=order_id)
