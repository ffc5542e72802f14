"""Named errors of the customers domain."""

from __future__ import annotations

from oms.errors import ConflictError


class EmailTaken(ConflictError):
    """The email already belongs to a customer record or a login (emails are unique)."""

    code = "email_taken"

    def __init__(self, *, who: str = "customer"):
        message = f"A {who} with this email already exists."
        super().__init__(message, details={"email": [message]})


class CustomerHasOpenOrders(ConflictError):
    """A customer with pending, placed or picked orders cannot be deleted."""

    code = "customer_has_open_orders"

    def __init__(self, open_orders: int) -> None:
        super().__init__(
            "The customer has open orders; finish or cancel them first.",
            details={"open_orders": open_orders},
        )
