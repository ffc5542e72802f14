"""A Hypothesis state machine over the real order services on PostgreSQL.

Random sequences of submissions, reservations (one order, or a batch), status commands by
random users of every role, cancellations, line and address edits, restocks, stock counts,
deactivations and reactivations. A refusal (any ``OMSError``: a 409, 404, 422) is a fine
outcome; anything else is a bug. After every step:

- the stock invariants of ARCHITECTURE.md: ``0 <= reserved_count <= inventory_count``, and
  ``reserved_count`` is the units of the product's placed and picked orders;
- each order's history replays from ``None -> pending`` to its current status, every step a
  transition of the lifecycle (written out here, independently of ``workflows/``);
- each order's total is the sum of its lines, each line its unit price times its quantity.

Bounded for ``make test`` (30 examples x 30 steps); ``OMS_LONG_FUZZ=1`` runs 200 x 50.
Tasks are not dispatched (the machine reserves explicitly), so nothing runs behind its back.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.db import discard_after_commit, transaction
from oms.errors import OMSError
from oms.extensions import db
from oms.orders import actions
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderItem, OrderStatusHistory
from oms.products import service as products
from tests.conftest import stock_invariant_violations, truncate_all
from tests.factories import ADDRESS, make_product, make_user
from tests.generated import fuzz_stats

LONG = os.environ.get("OMS_LONG_FUZZ") == "1"
EXAMPLES = int(os.environ.get("OMS_MACHINE_EXAMPLES", "200" if LONG else "30"))
STEPS = int(os.environ.get("OMS_MACHINE_STEPS", "50" if LONG else "30"))

S = OrderStatus
# The lifecycle of ARCHITECTURE.md, written out again on purpose.
LIFECYCLE = {
    (None, S.PENDING),
    (S.PENDING, S.PLACED),
    (S.PENDING, S.REJECTED),
    (S.PLACED, S.PICKED),
    (S.PICKED, S.SHIPPED),
    (S.SHIPPED, S.DELIVERED),
    (S.PENDING, S.CANCELLED),
    (S.PLACED, S.CANCELLED),
    (S.PICKED, S.CANCELLED),
}
COMMANDS = [S.PICKED, S.SHIPPED, S.DELIVERED, S.CANCELLED, S.PLACED, S.REJECTED, S.PENDING]
ROLES = ["customer_a", "customer_b", "staff", "admin"]


def quietly(use_case, **kwargs):
    """Run a use case in its own transaction without the dispatch after its commit (the
    machine reserves explicitly); a refusal is returned, not raised."""
    try:
        with transaction():
            result = use_case(**kwargs)
            discard_after_commit()
        return result
    except OMSError as refusal:
        return refusal
    finally:
        db.session.remove()


class OrderMachine(RuleBasedStateMachine):
    """Orders, stock and their rules under random operations."""

    orders = Bundle("orders")

    @initialize()
    def world(self):
        db.session.remove()
        truncate_all()
        self.users = {
            "customer_a": make_user(UserRole.CUSTOMER).id,
            "customer_b": make_user(UserRole.CUSTOMER).id,
            "staff": make_user(UserRole.STAFF).id,
            "admin": make_user(UserRole.ADMIN).id,
        }
        for i, stock in enumerate((0, 2, 5, 20)):  # sorted by price: index i is the i-th
            make_product(price=f"{3 + i}.25", stock=stock)
        db.session.remove()

    def actor(self, name: str) -> User:
        return db.session.get(User, self.users[name])

    def teardown(self):
        db.session.remove()

    # -- rules ------------------------------------------------------------------------------

    @rule(
        target=orders,
        who=st.sampled_from(["customer_a", "customer_b", "staff"]),
        lines=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 6)), min_size=1, max_size=3),
    )
    def submit(self, who, lines):
        product_ids = self._product_ids()
        items = [{"product_id": product_ids[i], "quantity": q} for i, q in lines]
        kwargs = {"items": items, "shipping_address": ADDRESS}
        actor = self.actor(who)
        if who == "staff":
            customer = self.actor("customer_a").customer
            kwargs["customer_id"] = customer.id
        placement = quietly(actions.place_order, actor=actor, **kwargs)
        if isinstance(placement, OMSError):
            return uuid.uuid4()  # a refused submission: an id no order has
        return uuid.UUID(placement.response["id"])

    @rule(order=orders)
    def reserve_one(self, order):
        quietly(actions.reserve_orders, order_ids=[order])

    @rule(limit=st.integers(1, 5))
    def reserve_batch(self, limit):
        quietly(actions.reserve_orders, limit=limit)

    @rule(order=orders, who=st.sampled_from(ROLES), status=st.sampled_from(COMMANDS))
    def command(self, order, who, status):
        before = self._status(order)
        outcome = quietly(
            actions.change_status, order_id=order, actor=self.actor(who), status=status
        )
        after = self._status(order)
        if isinstance(outcome, OMSError):
            assert after == before, f"a refused command changed the order: {before} -> {after}"
        else:
            assert (before, after) in LIFECYCLE and after == status, (before, after, status)
            if who.startswith("customer"):
                assert status == S.CANCELLED and before in (S.PENDING, S.PLACED)

    @rule(order=orders, who=st.sampled_from(ROLES))
    def cancel(self, order, who):
        quietly(actions.cancel_order, order_id=order, actor=self.actor(who), notes="changed mind")

    @rule(
        order=orders,
        who=st.sampled_from(ROLES),
        lines=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 6)), min_size=1, max_size=3),
    )
    def edit_lines(self, order, who, lines):
        product_ids = self._product_ids()
        items = [{"product_id": product_ids[i], "quantity": q} for i, q in lines]
        quietly(actions.update_order, order_id=order, actor=self.actor(who), items=items)

    @rule(order=orders, who=st.sampled_from(ROLES))
    def edit_address(self, order, who):
        address = {**ADDRESS, "line1": "2 Side Street"}
        quietly(
            actions.update_order, order_id=order, actor=self.actor(who), shipping_address=address
        )

    @rule(index=st.integers(0, 3), units=st.integers(1, 10))
    def restock(self, index, units):
        quietly(products.update, product_id=self._product_ids()[index], add_units=units)

    @rule(index=st.integers(0, 3), count=st.integers(0, 12))
    def count_stock(self, index, count):
        quietly(products.update, product_id=self._product_ids()[index], inventory_count=count)

    @rule(index=st.integers(0, 3), active=st.booleans())
    def set_active(self, index, active):
        quietly(products.update, product_id=self._product_ids()[index], active=active)

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def stock_is_consistent(self):
        fuzz_stats["steps"] += 1
        assert stock_invariant_violations() == []

    @invariant()
    def history_replays_to_the_status(self):
        histories = defaultdict(list)
        rows = db.session.execute(
            sa.select(
                OrderStatusHistory.order_id,
                OrderStatusHistory.old_status,
                OrderStatusHistory.new_status,
            ).order_by(OrderStatusHistory.created_at, OrderStatusHistory.id)
        )
        for order_id, old, new in rows:
            histories[order_id].append((old, new))
        for order_id, status in db.session.execute(sa.select(Order.id, Order.status)):
            steps = histories[order_id]
            assert steps and steps[0] == (None, S.PENDING), steps
            current = None
            for old, new in steps:
                assert old == current, f"history skips a step: {steps}"
                assert (old, new) in LIFECYCLE, f"not a lifecycle transition: {old} -> {new}"
                current = new
            assert current == status, f"history ends in {current}, order is {status}"
        db.session.remove()

    @invariant()
    def totals_are_the_sum_of_lines(self):
        sums = dict(
            db.session.execute(
                sa.select(OrderItem.order_id, sa.func.sum(OrderItem.total_price)).group_by(
                    OrderItem.order_id
                )
            ).all()
        )
        for order_id, total in db.session.execute(sa.select(Order.id, Order.total_amount)):
            assert total == sums.get(order_id, Decimal("0")), (order_id, total, sums.get(order_id))
        bad_lines = db.session.scalar(
            sa.select(sa.func.count()).where(
                OrderItem.total_price != OrderItem.unit_price * OrderItem.quantity
            )
        )
        assert bad_lines == 0
        db.session.remove()

    # -- helpers ----------------------------------------------------------------------------

    def _product_ids(self) -> list:
        from oms.products.models import Product

        ids = db.session.scalars(sa.select(Product.id).order_by(Product.price)).all()
        db.session.remove()
        return ids

    def _status(self, order_id) -> S | None:
        status = db.session.scalar(sa.select(Order.status).where(Order.id == order_id))
        db.session.remove()
        return status


def test_orders_and_stock_keep_their_rules_under_random_operations(app_ctx):
    run_state_machine_as_test(
        OrderMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
