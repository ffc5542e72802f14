"""The schema comes from migrations: up and down on PostgreSQL and SQLite, and no drift."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from oms import create_app
from oms.extensions import db
from tests.conftest import TEST_DATABASE_URL, ensure_database, make_test_config, reset_schema

TABLES = {
    "users",
    "customers",
    "products",
    "orders",
    "order_items",
    "order_status_history",
    "revoked_tokens",
    "outbox_messages",
    "idempotency_keys",
    "export_jobs",
}


def _migration_db_url() -> str:
    return TEST_DATABASE_URL + "_migrations"


def _tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_postgresql_upgrade_to_head_and_down_to_empty():
    url = _migration_db_url()
    ensure_database(url)
    reset_schema(url)
    app = create_app(make_test_config(SQLALCHEMY_DATABASE_URI=url))
    with app.app_context():
        upgrade()
        assert _tables(db.engine) >= TABLES
        with db.engine.connect() as conn:
            types = set(conn.scalars(sa.text("SELECT typname FROM pg_type WHERE typtype = 'e'")))
            assert {"user_role", "order_status"} <= types
            indexes = set(
                conn.scalars(sa.text("SELECT indexname FROM pg_indexes WHERE schemaname='public'"))
            )
        assert {
            "ix_customers_name_fts",
            "ix_products_name_fts",
            "ix_orders_status",
            "ix_orders_created_at",
            "ix_orders_customer_created_id",
            "ix_orders_status_created_id",
            "ix_orders_total_id",
            "ix_orders_status_updated_id",
            "ix_orders_number_pattern",
            "ix_orders_city_key",
            "ix_order_items_product_order",
        } <= indexes
        downgrade(revision="base")
        assert _tables(db.engine) == set()
        with db.engine.connect() as conn:
            assert (
                list(conn.scalars(sa.text("SELECT typname FROM pg_type WHERE typtype = 'e'"))) == []
            )
        db.engine.dispose()


def test_models_and_migrations_do_not_drift(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_check_constraints_guard_stock(app_ctx):
    from sqlalchemy.exc import IntegrityError

    from tests.factories import make_product

    product = make_product(stock=3)
    for bad in ({"reserved_count": 4}, {"inventory_count": -1}, {"reserved_count": -1}):
        with (
            pytest.raises(IntegrityError, match="violates check constraint"),
            db.engine.begin() as conn,
        ):
            conn.execute(
                sa.update(type(product)).where(type(product).id == product.id).values(**bad)
            )


def test_sqlite_upgrade_and_downgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
    app = create_app(make_test_config(SQLALCHEMY_DATABASE_URI=url, OMS_REDIS_URL=None))
    with app.app_context():
        upgrade()
        assert _tables(db.engine) >= TABLES
        downgrade(revision="base")
        assert _tables(db.engine) == set()
