"""An order as the API would show it to the logged-in user, for pages that embed it so the
first paint needs no extra request (the page's script then keeps it live)."""

from __future__ import annotations

import uuid

from oms.auth.models import User
from oms.orders import queries


def order_detail(*, order_id: uuid.UUID, user: User) -> dict:
    """The order with its lines, history and allowed next statuses; 404 if ``user`` may not
    see it (another customer's order does not exist for a customer)."""
    return queries.detail(order_id=order_id, actor=user)
