"""Named errors of the customers domain."""

from __future__ import annotations

from oms.errors import ConflictError


class EmailTaken(ConflictError):
    """The email already belongs to a customer record or a login (emails are unique)."""

    code = "email_taken"

    def __init__(self, *, who: str = "customer", hint: str = ""):
        message = f"A {who} with this email already exists.{hint}"
        super().__init__(message, details={"email": [message]})
