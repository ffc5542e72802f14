"""Named errors of the auth domain, each with a stable ``code`` in the error envelope."""

from __future__ import annotations

from oms.errors import AuthorizationError, ConflictError


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


class HttpsRequired(AuthorizationError):
    """A login over plain HTTP to a host browsers do not treat as secure, while the login
    cookies are ``Secure``: the browser would drop them and the user would be sent back to an
    empty login form. Refused with words a person can act on instead."""

    code = "https_required"

    def __init__(self, https_url: str) -> None:
        super().__init__(
            "This site must be opened over HTTPS: over plain HTTP your browser does not keep "
            f"the login. Open {https_url} instead. If that address does not answer, the site's "
            "administrator has to put HTTPS in front of it (README: Deploying)."
        )
