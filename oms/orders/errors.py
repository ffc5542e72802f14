"""Named errors of the orders domain, each with a stable ``code`` in the error envelope."""

from __future__ import annotations

from typing import TYPE_CHECKING

from oms.errors import ConflictError

if TYPE_CHECKING:
    from oms.orders.enums import OrderStatus
    from oms.orders.models import Order


class TransitionNotAllowed(ConflictError):
    """The lifecycle refuses this change; details name the current status and what is allowed."""

    code = "transition_not_allowed"


class OrderNotEditable(ConflictError):
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


class IdempotencyInProgress(ConflictError):
    """The first request with this Idempotency-Key is still running; retry shortly."""

    code = "idempotency_in_progress"
    RETRY_AFTER = 1

    def __init__(self) -> None:
        super().__init__(
            "A request with this Idempotency-Key is still being processed; "
            f"retry in {self.RETRY_AFTER} second.",
            details={"Idempotency-Key": ["in_progress"]},
        )
        self.retry_after = self.RETRY_AFTER


class ReorderUnavailable(ConflictError):
    """A past order cannot be placed again as it was: some of its products are no longer sold
    or not in stock; ``details.lines`` explains each one."""

    code = "reorder_unavailable"

    def __init__(self, order: Order, lines: list[dict]):
        super().__init__(
            f"Order {order.number} cannot be placed again as it was: "
            + " ".join(line["message"] for line in lines),
            details={"lines": lines},
        )
