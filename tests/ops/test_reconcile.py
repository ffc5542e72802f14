"""The stock reconciler on a real PostgreSQL: a counter corrupted by hand is found (metric,
admins' event), left alone while repair is off, set right with an audit entry when it is on
(also while a reservation of the same product is committing), and a clean database has no
drift. The CLI does the same for operators."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from oms import events
from oms.audit.models import AuditEntry
from oms.extensions import db
from oms.ops import reconcile
from oms.orders.enums import OrderStatus
from oms.products.models import Product
from oms.realtime.rooms import ADMIN_ROOM, rooms_for_event
from tests.factories import insert_order, make_customer, make_order, make_product, make_user
from tests.processes import wait_for


def _set_reserved(product_id, value: int) -> None:
    """Corrupt the counter behind the services' back, as a bug or a hand-edit would."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(Product).where(Product.id == product_id).values(reserved_count=value)
        )


def _reserved(product_id) -> int:
    return db.session.get(Product, product_id, populate_existing=True).reserved_count


def _repairs() -> list[AuditEntry]:
    return list(
        db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "stock.reconciled"))
    )


@pytest.fixture
def seen():
    got: list[dict] = []
    unsubscribe = events.subscribe(got.append)
    yield got
    unsubscribe()


def _metric(client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not on /metrics")


def _drifted_product():
    """A product with one placed order of 3 units, its counter corrupted to 5."""
    product = make_product(stock=10)
    make_order(make_user(), [(product, 3)])
    assert _reserved(product.id) == 3
    _set_reserved(product.id, 5)
    return product


def test_a_clean_database_has_no_drift(app_ctx, client, seen):
    product = make_product(stock=10)
    make_order(make_user(), [(product, 2)], status=OrderStatus.PICKED)
    make_order(make_user(), [(product, 1)], status=OrderStatus.SHIPPED)
    make_order(make_user(), [(product, 4)], status=OrderStatus.CANCELLED)
    seen.clear()

    result = reconcile.reconcile(repair=True)

    assert (result["products"], result["repaired"], result["items"]) == (0, 0, [])
    assert [e for e in seen if e["type"] == "ops.stock_drift"] == []
    assert _metric(client, "oms_stock_drift_products") == 0
    assert _metric(client, "oms_stock_reconciled_timestamp_seconds") > 0


def test_drift_is_reported_and_left_alone_while_repair_is_off(app, app_ctx, client, seen):
    assert app.config["OMS_RECONCILE_REPAIR"] is False  # the default
    product = _drifted_product()

    result = reconcile.reconcile()

    assert result["products"] == 1 and result["units"] == 2 and result["repaired"] == 0
    (alert,) = [e for e in seen if e["type"] == "ops.stock_drift"]
    assert alert["product_id"] == str(product.id)
    assert (alert["reserved_count"], alert["expected_reserved"], alert["repaired"]) == (5, 3, False)
    assert rooms_for_event(alert) == {ADMIN_ROOM}
    assert _metric(client, "oms_stock_drift_products") == 1
    assert _metric(client, "oms_stock_drift_units") == 2
    assert _reserved(product.id) == 5
    assert _repairs() == []

    reconcile.reconcile()  # the same drift again: still on the metric, no second alert
    assert len([e for e in seen if e["type"] == "ops.stock_drift"]) == 1
    assert _metric(client, "oms_stock_drift_products") == 1
    _set_reserved(product.id, 3)  # the suite checks the stock invariant after each test


def test_drift_is_repaired_with_an_audit_entry_when_allowed(app, app_ctx, client, seen):
    product = _drifted_product()
    repairs = _metric(client, "oms_stock_repairs_total")
    app.config["OMS_RECONCILE_REPAIR"] = True
    try:
        result = reconcile.reconcile()
    finally:
        app.config["OMS_RECONCILE_REPAIR"] = False

    assert result["repaired"] == 1 and result["products"] == 0
    assert _reserved(product.id) == 3
    (entry,) = _repairs()
    assert (entry.action, entry.entity_type, entry.entity_id) == (
        "stock.reconciled",
        "product",
        product.id,
    )
    assert (entry.before, entry.after) == ({"reserved_count": 5}, {"reserved_count": 3})
    (alert,) = [e for e in seen if e["type"] == "ops.stock_drift"]
    assert alert["repaired"] is True
    stock = [e for e in seen if e["type"] == "product.stock_changed"]
    assert stock[-1]["reserved_count"] == 3
    assert _metric(client, "oms_stock_drift_products") == 0
    assert _metric(client, "oms_stock_repairs_total") == repairs + 1
    assert reconcile.reconcile(repair=True)["items"] == []


def _someone_waits_for_a_lock() -> bool:
    with db.engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar()
        )


def test_a_repair_waits_for_a_reservation_committing_meanwhile(app, app_ctx):
    """The repair counts under the product's lock: a reservation that held the lock when the
    scan ran is counted once it commits, never overwritten by the figure from before it."""
    product = _drifted_product()  # 3 held, counter 5
    pending = insert_order(make_customer(), status=OrderStatus.PENDING, lines=[(product, 4)])
    result: dict = {}
    with db.engine.connect() as reservation:
        # a reservation in flight: the product row locked, the order placed, counter +4
        reservation.execute(
            sa.text("SELECT 1 FROM products WHERE id = :id FOR NO KEY UPDATE"), {"id": product.id}
        )
        reservation.execute(
            sa.text("UPDATE orders SET status = 'placed' WHERE id = :id"), {"id": pending.id}
        )
        reservation.execute(
            sa.text("UPDATE products SET reserved_count = reserved_count + 4 WHERE id = :id"),
            {"id": product.id},
        )

        def repair() -> None:
            with app.app_context():
                result.update(reconcile.reconcile(repair=True))
                db.session.remove()

        thread = threading.Thread(target=repair)
        thread.start()
        assert wait_for(_someone_waits_for_a_lock, 30), (
            "the repair never waited for the product's lock"
        )
        reservation.commit()
        thread.join(30)
    assert result["repaired"] == 1
    assert _reserved(product.id) == 7  # 3 + the 4 just reserved (the scan saw 5 vs 3)
    (entry,) = _repairs()
    assert (entry.before, entry.after) == ({"reserved_count": 9}, {"reserved_count": 7})


def test_a_repair_that_would_exceed_the_stock_is_left_to_a_person(app_ctx):
    product = make_product(stock=4)
    make_order(make_user(), [(product, 3)])
    with db.engine.begin() as conn:  # the shelf count was lowered by hand below the orders
        conn.execute(
            sa.update(Product)
            .where(Product.id == product.id)
            .values(inventory_count=2, reserved_count=1)
        )
    result = reconcile.reconcile(repair=True)
    assert result["repaired"] == 0 and result["products"] == 1
    assert _reserved(product.id) == 1
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(Product)
            .where(Product.id == product.id)
            .values(inventory_count=4, reserved_count=3)
        )


def test_cli_reports_and_repairs(app_ctx, runner):
    product = _drifted_product()
    report = runner.invoke(args=["stock", "reconcile"])
    assert report.exit_code == 1, report.output
    assert f"DRIFT {product.id}" in report.output and "reserved_count 5, orders hold 3" in (
        report.output
    )
    assert _reserved(product.id) == 5

    repaired = runner.invoke(args=["stock", "reconcile", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert "0 drifted, 1 repaired" in repaired.output
    assert _reserved(product.id) == 3


@pytest.mark.slow
def test_beat_runs_the_reconciler_on_a_worker(app_ctx, worker, tmp_path):
    from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
    from tests.processes import stack_env, start_beat

    product = _drifted_product()
    beat = start_beat(
        stack_env(
            database_url=TEST_DATABASE_URL,
            redis_url=TEST_REDIS_URL,
            broker_url=TEST_BROKER_URL,
            OMS_RECONCILE_SECONDS="1",
        ),
        tmp_path / "beat.log",
    )
    try:
        assert wait_for(lambda: str(product.id) in reconcile.last_run().get("drift", {}), 60), (
            beat.log() + worker.log()
        )
    finally:
        beat.stop()
    assert reconcile.last_run()["drift"][str(product.id)] == [5, 3]
    (alert,) = [e for e in events.read_since() if e["type"] == "ops.stock_drift"]
    assert (alert["product_id"], alert["repaired"]) == (str(product.id), False)
    assert _reserved(product.id) == 5  # repair is off on that worker
    _set_reserved(product.id, 3)
