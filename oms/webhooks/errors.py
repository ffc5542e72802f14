"""Named errors of the webhooks domain."""

from __future__ import annotations

from oms.errors import NotFoundError, ValidationError


class WebhookURLRefused(ValidationError):
    """The URL points at this system or at a private, loopback or link-local address (server-
    side request forgery), or its host does not resolve."""

    code = "webhook_url_refused"

    def __init__(self, reason: str) -> None:
        super().__init__(f"This URL is refused: {reason}.", details={"url": [reason]})


class WebhookNotFound(NotFoundError):
    """No such endpoint (or delivery of it)."""

    code = "not_found"

    def __init__(self, what: str = "webhook endpoint") -> None:
        super().__init__(f"No such {what}.")
