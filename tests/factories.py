"""Test data made through the services, so it obeys the same rules as real data."""

from __future__ import annotations

import itertools
from decimal import Decimal

from oms.auth import service as auth_service
from oms.auth.enums import UserRole
from oms.db import discard_after_commit, transaction
from oms.products.models import Product

PASSWORD = "correct-horse-1"
_counter = itertools.count(1)


def make_user(role: UserRole | str = UserRole.CUSTOMER, *, email: str | None = None, **fields):
    """A user of ``role`` whose password is ``PASSWORD``."""
    role = UserRole(role)
    n = next(_counter)
    return auth_service.create_user(
        email=email or f"{role.value}{n}@example.test",
        password=fields.pop("password", PASSWORD),
        role=role,
        first_name=fields.pop("first_name", role.value.title()),
        last_name=fields.pop("last_name", f"Number{n}"),
    )


def make_product(
    *, name: str | None = None, price: str = "10.00", stock: int = 10, active: bool = True
):
    with transaction() as session:
        product = Product(
            name=name or f"Product {next(_counter)}",
            price=Decimal(price),
            inventory_count=stock,
            active=active,
        )
        session.add(product)
    return product


def make_customer(
    *,
    email: str | None = None,
    first_name: str = "Casey",
    last_name: str | None = None,
    **fields,
):
    """A customer record without a login, created through the customer service."""
    from oms.customers import service as customer_service

    n = next(_counter)
    return customer_service.create(
        email=email or f"customer-record{n}@example.test",
        first_name=first_name,
        last_name=last_name or f"Number{n}",
        **fields,
    )


def insert_order(customer, *, status, lines=(), number: str | None = None):
    """An order row with its lines ``[(product, quantity), ...]`` written straight through the
    ORM: for tests of other domains that only need an order to exist. No stock is reserved, so
    give a ``placed`` or ``picked`` order no lines (the suite checks the stock invariant)."""
    from oms.orders.models import Order, OrderItem

    with transaction() as session:
        items = [
            OrderItem(
                product_id=product.id,
                quantity=quantity,
                unit_price=product.price,
                total_price=product.price * quantity,
            )
            for product, quantity in lines
        ]
        order = Order(
            number=number or f"ORD-9{next(_counter):05d}",
            customer_id=customer.id,
            status=status,
            total_amount=sum((item.total_price for item in items), Decimal("0.00")),
            shipping_address={
                "line1": "1 Test Street",
                "city": "Testville",
                "postal_code": "12345",
                "country": "DE",
            },
            items=items,
        )
        session.add(order)
    return order


ADDRESS = {"line1": "1 Main Street", "city": "Oslo", "postal_code": "0150", "country": "NO"}


def make_order(customer_user, lines, *, status=None, staff=None):
    """An order placed through the order service by ``customer_user`` (a customer user) with
    ``lines`` ``[(product, quantity), ...]``, then moved to ``status`` through the lifecycle, so
    stock and history are what the real flow leaves. ``pending`` is written without its
    reservation task. Needs the eager app (the reservation runs at once)."""
    from oms.orders import actions as orders
    from oms.orders.enums import OrderStatus
    from oms.outbox.models import OutboxMessage

    items = [{"product_id": p.id, "quantity": q} for p, q in lines]
    status = OrderStatus(status) if status else OrderStatus.PLACED
    if status == OrderStatus.PENDING:
        from oms.extensions import db

        with transaction():
            order = orders.place_order(
                actor=customer_user, items=items, shipping_address=ADDRESS
            ).order
            # drop the reservation task before commit: the order stays pending
            db.session.flush()
            db.session.query(OutboxMessage).delete()
            discard_after_commit()
        return order
    order = orders.place_order(actor=customer_user, items=items, shipping_address=ADDRESS).order
    if order.status != OrderStatus.PLACED:
        assert status == order.status, f"order ended {order.status}, wanted {status}"
        return order
    path = {
        OrderStatus.PLACED: [],
        OrderStatus.PICKED: ["picked"],
        OrderStatus.SHIPPED: ["picked", "shipped"],
        OrderStatus.DELIVERED: ["picked", "shipped", "delivered"],
        OrderStatus.CANCELLED: ["cancelled"],
    }
    if status == OrderStatus.REJECTED:
        raise ValueError("a rejected order comes from a shortage: tests.orders.helpers.order_in")
    staff = staff or make_user(UserRole.STAFF)
    for step in path[status]:
        orders.change_status(order_id=order.id, actor=staff, status=OrderStatus(step))
    return order


def reserve_stock(product, units: int) -> None:
    """Simulate the order engine reserving ``units`` of ``product``: a ``placed`` order holding
    them, and ``reserved_count`` raised by a direct UPDATE (so the stock invariant holds)."""
    import sqlalchemy as sa

    from oms.extensions import db
    from oms.orders.enums import OrderStatus

    insert_order(make_customer(), status=OrderStatus.PLACED, lines=[(product, units)])
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(Product)
            .where(Product.id == product.id)
            .values(reserved_count=Product.reserved_count + units)
        )
