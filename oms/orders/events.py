"""The events the orders domain publishes: the contract the dashboards and webhooks read (the
fields are listed once, in ``oms.event_catalogue``). Each leaves after its transaction's commit
(``oms.events``); the envelope adds ``id``, ``type``, ``version``, ``at`` and ``seq``.

- ``order.created`` and ``order.updated``: ``order_id``, ``number``, ``customer_id``,
  ``status``, ``total_amount`` (a decimal string), ``actor`` (the user id);
- ``order.status_changed``: ``order_id``, ``number``, ``customer_id``, ``old_status``,
  ``new_status``, ``actor`` (a user id, or ``"system"`` for the reservation worker), ``notes``,
  and the shipment as recorded (``carrier``, ``tracking_number``, ``tracking_url``; null until
  it ships, or when not given).
"""

from __future__ import annotations

from datetime import datetime

from oms import events
from oms.auth.models import User
from oms.orders import carriers
from oms.orders.enums import OrderStatus
from oms.orders.models import Order


def order_saved(kind: str, order: Order, actor: User) -> None:
    """``order.created`` or ``order.updated``."""
    events.publish(
        kind,
        order_id=str(order.id),
        number=order.number,
        customer_id=str(order.customer_id),
        status=order.status.value,
        total_amount=str(order.total_amount),
        actor=str(actor.id),
    )


def status_changed(
    order: Order, *, old: OrderStatus, actor: User | None, notes: str | None, at: datetime
) -> None:
    """``order.status_changed``."""
    events.publish(
        "order.status_changed",
        order_id=str(order.id),
        number=order.number,
        customer_id=str(order.customer_id),
        old_status=old.value,
        new_status=order.status.value,
        actor=str(actor.id) if actor else "system",
        notes=notes,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        tracking_url=carriers.tracking_url(order.carrier, order.tracking_number),
        at=at.isoformat(),
    )
