"""Flash sale: how fast pending orders for one hot product get reserved.

Compares one transaction per order (the ``inventory.reserve_order`` task's path) with batch
transactions (``inventory.reserve_pending_orders``: many pending orders claimed with
``FOR UPDATE SKIP LOCKED`` and decided in one transaction), each with 1 and 2 processes
working at once against the same PostgreSQL database.

    .venv/bin/python -m benchmarks.flash_sale --orders 5000 --stock 2000

It creates (and afterwards keeps) the database ``oms_bench_flash`` on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import uuid
from multiprocessing import Process

import sqlalchemy as sa

DATABASE_URL = os.environ.get(
    "OMS_BENCH_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/oms_bench_flash"
)


def make_app():
    from oms import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
            "OMS_REDIS_URL": None,
            "OMS_LOG_LEVEL": "ERROR",
            # tasks go to an in-memory broker: this measures the reservation, not the mail
            "CELERY": {
                "broker_url": "memory://",
                "result_backend": None,
                "task_always_eager": False,
            },
        }
    )


def prepare(app, orders: int, stock: int) -> None:
    """Empty tables, one hot product, ``orders`` pending orders of one unit each (bulk SQL)."""
    from oms.db import create_database_if_missing
    from oms.extensions import db

    create_database_if_missing(sa.make_url(DATABASE_URL))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        tables = ", ".join(t.name for t in reversed(db.metadata.sorted_tables))
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            product_id, customer_id = uuid.uuid4(), uuid.uuid4()
            conn.execute(
                sa.text(
                    "INSERT INTO products"
                    " (id, name, price, inventory_count, reserved_count, active)"
                    " VALUES (:id, 'Hot kettle', 25.00, :stock, 0, true)"
                ),
                {"id": product_id, "stock": stock},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO customers (id, email, first_name, last_name)"
                    " VALUES (:id, 'fan@example.com', 'Flash', 'Fan')"
                ),
                {"id": customer_id},
            )
            conn.execute(
                sa.text(
                    """
                    INSERT INTO orders (id, number, customer_id, status, total_amount,
                                        shipping_address, created_at)
                    SELECT md5('o' || g)::uuid, 'ORD-' || lpad(g::text, 7, '0'), :customer,
                           'pending', 25.00, '{"line1": "x"}',
                           now() + (g || ' microseconds')::interval
                    FROM generate_series(1, :n) g
                    """
                ),
                {"customer": customer_id, "n": orders},
            )
            conn.execute(
                sa.text(
                    """
                    INSERT INTO order_items (id, order_id, product_id, quantity, unit_price,
                                             total_price)
                    SELECT md5('i' || g)::uuid, md5('o' || g)::uuid, :product, 1, 25.00, 25.00
                    FROM generate_series(1, :n) g
                    """
                ),
                {"product": product_id, "n": orders},
            )


def drain(batch: int) -> None:
    """Reserve pending orders until none is left, ``batch`` orders per transaction."""
    from oms.extensions import db
    from oms.orders.actions import reserve_orders as reserve_pending_orders
    from oms.orders.enums import OrderStatus
    from oms.orders.models import Order

    app = make_app()
    with app.app_context():
        if batch == 1:
            while True:
                order_id = db.session.scalar(
                    sa.select(Order.id)
                    .where(Order.status == OrderStatus.PENDING)
                    .order_by(Order.created_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                db.session.rollback()
                if order_id is None:
                    return
                reserve_pending_orders(order_ids=[order_id], limit=1)
        else:
            while reserve_pending_orders(limit=batch):
                pass


def run(orders: int, stock: int, batch: int, processes: int) -> float:
    app = make_app()
    prepare(app, orders, stock)
    started = time.perf_counter()
    workers = [Process(target=drain, args=(batch,)) for _ in range(processes)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    with app.app_context():
        from oms.extensions import db

        placed, reserved = db.session.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM orders WHERE status = 'placed'),"
                " (SELECT reserved_count FROM products)"
            )
        ).one()
        pending = db.session.scalar(sa.text("SELECT count(*) FROM orders WHERE status = 'pending'"))
        assert placed == reserved == min(stock, orders) and pending == 0, (
            placed,
            reserved,
            pending,
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--stock", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{args.orders} pending orders of 1 unit for one product with {args.stock} units")
    print(f"{'mode':<32}{'procs':>6}{'seconds':>10}{'orders/s':>10}")
    for batch in (1, args.batch):
        for processes in (1, 2):
            elapsed = run(args.orders, args.stock, batch, processes)
            mode = "one order per transaction" if batch == 1 else f"batches of {batch}"
            print(f"{mode:<32}{processes:>6}{elapsed:>10.2f}{args.orders / elapsed:>10.0f}")


if __name__ == "__main__":
    main()
