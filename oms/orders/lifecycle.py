"""Apply a lifecycle event to an order row: status, audit fields, history row, the customer's
notification (through the outbox) and the event.

``workflows.order_lifecycle`` decides; this module records the decision in the caller's
transaction. Stock effects belong to the caller (``oms.inventory.service``)."""

from __future__ import annotations

from oms import events
from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.db import utcnow
from oms.errors import ConflictError
from oms.extensions import db
from oms.notifications.service import CUSTOMER_VISIBLE
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderStatusHistory
from oms.outbox import service as outbox
from workflows.order_lifecycle import EVENT_TARGETS, TransitionRefused, allowed_events, apply

NOTIFY_TASK = "notifications.order_status"


class OrderTransitionError(ConflictError):
    """The lifecycle refuses this change; details name the current status and what is allowed."""

    code = "transition_not_allowed"


class NotEditableError(ConflictError):
    """The order's status no longer allows changing this field."""

    code = "order_not_editable"

    def __init__(self, order: Order, field: str, editable: frozenset[OrderStatus]):
        super().__init__(
            f"The {field} of order {order.number} cannot change once it is {order.status.value}.",
            details={
                "status": order.status.value,
                "field": field,
                "editable_in": sorted(s.value for s in editable),
            },
        )


def is_owner(order: Order, actor: User | None) -> bool:
    """Whether ``actor`` is the customer the order belongs to."""
    return (
        actor is not None
        and actor.role == UserRole.CUSTOMER
        and actor.customer is not None
        and actor.customer.id == order.customer_id
    )


def allowed_statuses(order: Order, actor: User | None) -> list[str]:
    """The statuses ``actor`` may move ``order`` to next (for the 409 and for the UI)."""
    role = actor.role if actor else None
    events_ = allowed_events(order.status, actor_role=role, is_owner=is_owner(order, actor))
    return [EVENT_TARGETS[e].value for e in events_]


def refuse(order: Order, actor: User | None, requested: str) -> OrderTransitionError:
    allowed = allowed_statuses(order, actor)
    return OrderTransitionError(
        f"Order {order.number} is {order.status.value}; it cannot become {requested}.",
        details={"status": order.status.value, "requested": requested, "allowed": allowed},
    )


def transition(order: Order, event: str, *, actor: User | None, notes: str | None) -> OrderStatus:
    """Move ``order`` by ``event`` as ``actor`` (None: the system); returns the old status."""
    old = order.status
    role = actor.role if actor else None
    try:
        new = apply(old, event, actor_role=role, is_owner=is_owner(order, actor))
    except TransitionRefused as exc:
        target = EVENT_TARGETS.get(event)
        raise refuse(order, actor, target.value if target else event) from exc
    now = utcnow()
    order.status = new
    order.status_updated_at = now
    order.status_updated_by = actor.id if actor else None
    db.session.add(
        OrderStatusHistory(
            order_id=order.id,
            old_status=old,
            new_status=new,
            changed_by_user_id=actor.id if actor else None,
            notes=notes,
            created_at=now,
        )
    )
    if new in CUSTOMER_VISIBLE:
        outbox.enqueue(NOTIFY_TASK, order_id=str(order.id), status=new.value)
    events.publish(
        "order.status_changed",
        order_id=str(order.id),
        number=order.number,
        customer_id=str(order.customer_id),
        old_status=old.value,
        new_status=new.value,
        actor=str(actor.id) if actor else "system",
        notes=notes,
        at=now.isoformat(),
    )
    return old
