"""What the lifecycle means for one order and one user: ownership, the statuses they may set
next, and the refusal that names them.

``workflows.order_lifecycle`` decides; ``oms.orders.actions`` records the decision."""

from __future__ import annotations

from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.orders.errors import TransitionNotAllowed
from oms.orders.models import Order
from workflows.order_lifecycle import EVENT_TARGETS, allowed_events


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


def refuse(order: Order, actor: User | None, event: str) -> TransitionNotAllowed:
    """The 409 for ``event`` (or a status no event leads to), naming what is allowed."""
    target = EVENT_TARGETS.get(event)
    requested = target.value if target else event
    return TransitionNotAllowed(
        f"Order {order.number} is {order.status.value}; it cannot become {requested}.",
        details={
            "status": order.status.value,
            "requested": requested,
            "allowed": allowed_statuses(order, actor),
        },
    )
