"""The kinds of stuck work the problems view lists."""

from enum import StrEnum


class ProblemKind(StrEnum):
    """What a problem is about; its id is that thing's id."""

    PENDING_ORDER = "pending_order"  # an order pending past OMS_PROBLEM_PENDING_MINUTES
    OUTBOX_MESSAGE = "outbox_message"  # a task never handed to the broker
    NOTIFICATION = "notification"  # an email unsent past its resend window, or that failed
    EXPORT = "export"  # an export that failed or whose run went silent
    WEBHOOK_DELIVERY = "webhook_delivery"  # a delivery that ran out of attempts, not resent
    DEAD_LETTER = "dead_letter"  # a task that failed for good, not replayed
