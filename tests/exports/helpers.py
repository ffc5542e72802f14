"""Shared set-up for export tests: orders in bulk, and the rows an export must contain,
computed in Python from the ORM (independently of the export's SQL)."""

from __future__ import annotations

import csv
import gzip
import io
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from oms.db import as_utc
from oms.extensions import db
from oms.orders.models import Order, OrderItem

# Bulk orders are delivered, shipped or pending, so they hold no reservation (the suite checks
# that reserved_count equals the units of placed and picked orders after every test).
BULK_STATUSES = ("delivered", "shipped", "pending")

BULK_SQL = [
    """
    INSERT INTO customers (id, email, first_name, last_name)
    SELECT md5('c' || g)::uuid, 'bulk' || g || '@example.test', 'Bulk' || g, 'Buyer'
    FROM generate_series(1, :customers) g
    """,
    """
    INSERT INTO products (id, name, price, inventory_count, reserved_count, active)
    SELECT md5('p' || g)::uuid, 'Bulk product ' || g, (g * 1.25)::numeric(12, 2), 1000, 0, true
    FROM generate_series(1, :products) g
    """,
    # order g has (g % 3) + 1 lines; line k is product ((g + k) % products) + 1, quantity k
    """
    INSERT INTO orders (id, number, customer_id, status, payment_collected, total_amount,
                        shipping_address, created_at, updated_at, status_updated_at)
    SELECT md5('o' || g)::uuid,
           'ORD-' || lpad(g::text, 7, '0'),
           md5('c' || (g % :customers + 1))::uuid,
           (ARRAY['delivered', 'shipped', 'pending'])[g % 3 + 1]::order_status,
           g % 2 = 0,
           (SELECT sum(((g + k) % :products + 1) * 1.25 * k)
              FROM generate_series(1, g % 3 + 1) k),
           json_build_object('line1', g || ' Long Street', 'city', 'Bergen',
                             'postal_code', '50' || lpad((g % 100)::text, 2, '0'),
                             'country', 'NO'),
           timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute',
           now(),
           timestamptz '2024-06-01 00:00:00+00' + g * interval '1 second'
    FROM generate_series(1, :orders) g
    """,
    """
    INSERT INTO order_items (id, order_id, product_id, quantity, unit_price, total_price)
    SELECT md5('i' || g || '-' || k)::uuid, md5('o' || g)::uuid,
           md5('p' || ((g + k) % :products + 1))::uuid, k,
           ((g + k) % :products + 1) * 1.25, ((g + k) % :products + 1) * 1.25 * k
    FROM generate_series(1, :orders) g, generate_series(1, g % 3 + 1) k
    """,
]


def load_orders(orders: int, *, customers: int = 40, products: int = 12) -> None:
    """``orders`` orders with 1 to 3 lines each, written with bulk SQL."""
    params = {"orders": orders, "customers": customers, "products": products}
    with db.engine.begin() as conn:
        for statement in BULK_SQL:
            conn.execute(sa.text(statement), params)


def neutral(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def flat_address(address: dict) -> str:
    def present(*keys: str) -> list[str]:
        return [str(address[k]) for k in keys if address.get(k) not in (None, "")]

    place = " ".join(present("postal_code", "city"))
    parts = [*present("name", "line1", "line2"), *([place] if place else []), *present("region")]
    return ", ".join(parts + present("country"))


def iso(value) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_rows(*, per_line: bool = False, where: Callable[[Order], bool] | None = None):
    """The rows an export of every order (or those ``where`` accepts) must have."""
    db.session.remove()
    orders = db.session.scalars(
        sa.select(Order)
        .options(
            selectinload(Order.customer), selectinload(Order.items).selectinload(OrderItem.product)
        )
        .order_by(Order.created_at, Order.id)
    ).all()
    rows = []
    for order in orders:
        if where is not None and not where(order):
            continue
        customer = order.customer
        base = [
            neutral(order.number),
            str(order.id),
            iso(order.created_at),
            order.status.value,
            neutral(f"{customer.first_name} {customer.last_name}"),
            neutral(customer.email),
            str(sum(item.quantity for item in order.items)),
            f"{order.total_amount:.2f}",
            "true" if order.payment_collected else "false",
            neutral(flat_address(order.shipping_address)),
            iso(order.status_updated_at),
        ]
        if not per_line:
            rows.append(base)
            continue
        for item in sorted(order.items, key=lambda i: (i.created_at, i.id)):
            rows.append(
                [
                    *base,
                    neutral(item.product.name),
                    str(item.quantity),
                    f"{item.unit_price:.2f}",
                    f"{item.total_price:.2f}",
                ]
            )
    db.session.remove()
    return rows


def parse_csv(data: bytes, *, gzipped: bool = False) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of an export file; it must start with the UTF-8 byte order mark."""
    if gzipped:
        data = gzip.decompress(data)
    assert data.startswith(b"\xef\xbb\xbf"), data[:20]
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def run_task(app, name: str, **kwargs):
    """Run the task ``name`` in-process, as ``app``'s Celery knows it (a ``shared_task``
    proxy follows whichever Celery app was created last, and tests create several)."""
    return app.extensions["celery"].tasks[name].apply(kwargs=kwargs).get()


def wait_for_status(client, url: str, headers: dict, statuses: set[str], timeout: float = 60):
    """Poll an export until its status is one of ``statuses``; returns its body."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(url, headers=headers).get_json()
        if body["status"] in statuses or time.monotonic() > deadline:
            return body
        time.sleep(0.2)
