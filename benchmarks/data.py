"""The benchmarks' data, loaded with bulk SQL: a catalogue, customers with logins, staff, and
orders in a given status; plus access tokens the load generators send.

``bench_products`` and ``bench_customers`` number the rows (1..n) for the pgbench scripts,
which pick rows by number; they live only in the benchmark's database.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from benchmarks import stack

ADDRESS = {"line1": "1 Bench Street", "city": "Oslo", "postal_code": "0150", "country": "NO"}


def _truncate(conn) -> None:
    tables = conn.execute(
        sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ).scalars()
    names = ", ".join(f'"{t}"' for t in tables if t != "alembic_version")
    conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def seed(*, products: int, stock: int, customers: int, staff: int = 4) -> None:
    """Empty the database, then ``products`` products of ``stock`` units each, ``customers``
    customers with logins and ``staff`` staff users."""
    with stack.engine().begin() as conn:
        _truncate(conn)
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_products, bench_customers"))
        conn.execute(
            sa.text(
                "INSERT INTO products (id, name, price, inventory_count) "
                "SELECT gen_random_uuid(), 'Bench product ' || n, 10 + n % 90, :stock "
                "FROM generate_series(1, :n) AS n"
            ),
            {"n": products, "stock": stock},
        )
        conn.execute(
            sa.text(
                "CREATE TABLE bench_products AS "
                "SELECT row_number() OVER (ORDER BY name) AS n, id FROM products"
            )
        )
        conn.execute(sa.text("CREATE UNIQUE INDEX ON bench_products (n)"))
        conn.execute(
            sa.text(
                "INSERT INTO users (id, email, password_hash, first_name, last_name, role) "
                "SELECT gen_random_uuid(), 'customer' || n || '@bench.test', 'x', 'Bench', "
                "'Customer ' || n, 'customer' FROM generate_series(1, :n) AS n"
            ),
            {"n": customers},
        )
        conn.execute(
            sa.text(
                "INSERT INTO users (id, email, password_hash, first_name, last_name, role) "
                "SELECT gen_random_uuid(), 'staff' || n || '@bench.test', 'x', 'Bench', "
                "'Staff ' || n, 'staff' FROM generate_series(1, :n) AS n"
            ),
            {"n": staff},
        )
        conn.execute(
            sa.text(
                "INSERT INTO customers (id, user_id, email, first_name, last_name, address) "
                "SELECT gen_random_uuid(), id, email, first_name, last_name, "
                "CAST(:address AS json) FROM users WHERE role = 'customer'"
            ),
            {"address": json.dumps(ADDRESS)},
        )
        conn.execute(
            sa.text(
                "CREATE TABLE bench_customers AS "
                "SELECT row_number() OVER (ORDER BY email) AS n, id FROM customers"
            )
        )
        conn.execute(sa.text("CREATE UNIQUE INDEX ON bench_customers (n)"))
    with stack.engine().connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))


def placed_orders(count: int, *, status: str = "placed") -> list[str]:
    """``count`` new one-line orders in ``status`` for the first product (its units reserved
    as that status holds them), with their history rows; their ids."""
    with stack.engine().begin() as conn:
        ids = conn.execute(
            sa.text(
                "WITH c AS (SELECT count(*) AS n FROM bench_customers), "
                "o AS (INSERT INTO orders (id, number, customer_id, status, total_amount, "
                "shipping_address) SELECT gen_random_uuid(), "
                "'ORD-B' || nextval('order_number_seq'), bc.id, CAST(:status AS order_status), "
                "10, CAST(:address AS json) FROM generate_series(1, :count) AS g(n), c, "
                "bench_customers bc WHERE bc.n = 1 + g.n % c.n RETURNING id), "
                "i AS (INSERT INTO order_items (id, order_id, product_id, quantity, unit_price, "
                "total_price) SELECT gen_random_uuid(), o.id, "
                "(SELECT id FROM bench_products WHERE n = 1), 1, 10, 10 FROM o), "
                "h AS (INSERT INTO order_status_history (id, order_id, old_status, new_status) "
                "SELECT gen_random_uuid(), o.id, NULL, CAST(:status AS order_status) FROM o) "
                "SELECT id FROM o"
            ),
            {"count": count, "status": status, "address": json.dumps(ADDRESS)},
        ).scalars()
        ids = [str(i) for i in ids]
        if status in {"placed", "picked"}:
            conn.execute(
                sa.text(
                    "UPDATE products SET inventory_count = inventory_count + :count, "
                    "reserved_count = reserved_count + :count "
                    "WHERE id = (SELECT id FROM bench_products WHERE n = 1)"
                ),
                {"count": count},
            )
    return ids


def tokens(role: str, limit: int | None = None) -> list[str]:
    """Access tokens of the users with ``role``, signed as the stack's web process checks
    them (the same production secrets)."""
    from oms.auth.enums import UserRole
    from oms.auth.models import User
    from oms.auth.tokens import issue_tokens
    from oms.extensions import db

    app = stack.production_app()
    with app.app_context():
        query = sa.select(User).where(User.role == UserRole(role)).order_by(User.email)
        if limit:
            query = query.limit(limit)
        return [issue_tokens(user)["access_token"] for user in db.session.scalars(query)]


def product_ids() -> list[str]:
    with stack.engine().connect() as conn:
        rows = conn.execute(sa.text("SELECT id FROM bench_products ORDER BY n")).scalars()
        return [str(i) for i in rows]


def write_lines(path: Path, values: list[str]) -> Path:
    """One value per line, for the wrk scripts to read."""
    path.write_text("\n".join(values) + "\n")
    return path
