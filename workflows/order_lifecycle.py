"""The order lifecycle: the only place that decides which transitions exist and who may make them.

    pending --reserve--> placed --pick--> picked --ship--> shipped --deliver--> delivered
    pending --reject---> rejected
    pending | placed | picked --cancel--> cancelled

``reserve`` and ``reject`` are the system's (the reservation worker, ``actor_role=None``);
staff and admins pick, ship, deliver and cancel; a customer may cancel only their own order,
and only while it is pending or placed. The machine holds no SQL: services load the order,
ask the machine, and write the outcome in their own transaction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from oms.auth.enums import UserRole
from oms.orders.enums import OrderStatus

# The statuses whose arrival the customer is told of (notifications.send_order_status); pending is
# the answer to their own submission.
NOTIFY_CUSTOMER = frozenset(
    {
        OrderStatus.PLACED,
        OrderStatus.REJECTED,
        OrderStatus.PICKED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
    }
)


class OrderLifecycle(StateMachine):
    """States and events of an order; guards receive ``actor_role`` and ``is_owner``."""

    pending = State(value=OrderStatus.PENDING, initial=True)
    placed = State(value=OrderStatus.PLACED)
    picked = State(value=OrderStatus.PICKED)
    shipped = State(value=OrderStatus.SHIPPED)
    delivered = State(value=OrderStatus.DELIVERED, final=True)
    cancelled = State(value=OrderStatus.CANCELLED, final=True)
    rejected = State(value=OrderStatus.REJECTED, final=True)

    reserve = pending.to(placed, cond="by_system")
    reject = pending.to(rejected, cond="by_system")
    pick = placed.to(picked, cond="by_staff")
    ship = picked.to(shipped, cond="by_staff")
    deliver = shipped.to(delivered, cond="by_staff")
    cancel = (
        pending.to(cancelled, cond="by_staff_or_owner")
        | placed.to(cancelled, cond="by_staff_or_owner")
        | picked.to(cancelled, cond="by_staff")
    )

    def by_system(self, actor_role: UserRole | None = None) -> bool:
        """Guard: only the system (the reservation worker) reserves and rejects."""
        return actor_role is None

    def by_staff(self, actor_role: UserRole | None = None) -> bool:
        """Guard: staff and admins."""
        return actor_role is not None and actor_role.is_staff

    def by_staff_or_owner(self, actor_role: UserRole | None = None, is_owner: bool = False) -> bool:
        """Guard: staff and admins, or the customer who owns the order."""
        return self.by_staff(actor_role) or (actor_role == UserRole.CUSTOMER and is_owner)


@dataclass
class _Holder:
    """The model the machine reads and writes; keeps ORM objects out of the machine."""

    status: OrderStatus


class TransitionRefused(Exception):
    """The event is not allowed from ``status`` for this actor; ``allowed`` lists what is."""

    def __init__(self, *, status: OrderStatus, event: str, allowed: list[str]):
        super().__init__(f"Cannot {event} an order that is {status.value}.")
        self.status = status
        self.event = event
        self.allowed = allowed


def _machine(status: OrderStatus) -> OrderLifecycle:
    return OrderLifecycle(model=_Holder(OrderStatus(status)), state_field="status")


# The machine's answers depend only on these arguments, so each is asked once per process
# (building a machine costs about a millisecond; a flash sale makes thousands of transitions).
@functools.cache
def _enabled(status: OrderStatus, actor_role: UserRole | None, is_owner: bool) -> tuple[str, ...]:
    enabled = _machine(status).enabled_events(actor_role=actor_role, is_owner=is_owner)
    return tuple(event.id for event in enabled)


@functools.cache
def _target(
    status: OrderStatus, event: str, actor_role: UserRole | None, is_owner: bool
) -> OrderStatus | None:
    machine = _machine(status)
    try:
        machine.send(event, actor_role=actor_role, is_owner=is_owner)
    except TransitionNotAllowed:
        return None
    return OrderStatus(machine.model.status)


def allowed_events(
    status: OrderStatus, *, actor_role: UserRole | None, is_owner: bool = False
) -> list[str]:
    """Events this actor may send to an order in ``status``, in definition order."""
    return list(_enabled(OrderStatus(status), actor_role, bool(is_owner)))


def apply(
    status: OrderStatus, event: str, *, actor_role: UserRole | None, is_owner: bool = False
) -> OrderStatus:
    """The status after ``event``, or TransitionRefused naming the allowed events."""
    status = OrderStatus(status)
    target = _target(status, event, actor_role, bool(is_owner)) if event in EVENTS else None
    if target is None:
        raise TransitionRefused(
            status=status,
            event=event,
            allowed=allowed_events(status, actor_role=actor_role, is_owner=is_owner),
        )
    return target


def _event_targets() -> dict[str, OrderStatus]:
    """Each event's target status, read from the definition (every event has exactly one)."""
    targets: dict[str, set[OrderStatus]] = {}
    for state in OrderLifecycle.states:
        for transition in state.transitions:
            for event in transition.events:
                targets.setdefault(str(event), set()).add(OrderStatus(transition.target.value))
    ambiguous = {event: t for event, t in targets.items() if len(t) != 1}
    if ambiguous:  # a definition error: statuses map back to events one to one
        raise TypeError(f"events with several target statuses: {ambiguous}")
    return {event: target.pop() for event, target in targets.items()}


EVENT_TARGETS: dict[str, OrderStatus] = _event_targets()
EVENTS: frozenset[str] = frozenset(EVENT_TARGETS)
EVENT_FOR_STATUS: dict[OrderStatus, str] = {
    target: event for event, target in EVENT_TARGETS.items()
}
