"""Named errors of the auth domain, each with a stable ``code`` in the error envelope."""

from __future__ import annotations

from oms.errors import ConflictError


class CustomerHasLogin(ConflictError):
    """The customer record of this email is already linked to a login."""

    code = "customer_has_login"

    def __init__(self) -> None:
        message = "This customer already has a login."
        super().__init__(message, details={"email": [message]})


class OwnAccountProtected(ConflictError):
    """An admin may not demote or deactivate themselves (the last admin never locks all out)."""

    code = "own_account_protected"

    def __init__(self) -> None:
        super().__init__("You cannot demote or deactivate your own account.")
