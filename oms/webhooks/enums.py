"""Delivery states and attempt outcomes."""

from enum import StrEnum


class DeliveryState(StrEnum):
    """Where one event's delivery to one endpoint is."""

    PENDING = "pending"  # waiting for its (next) attempt at next_attempt_at, or its turn
    SENDING = "sending"  # a worker claimed it at claimed_at and is POSTing
    DELIVERED = "delivered"  # the endpoint answered 2xx (final)
    FAILED = "failed"  # attempts exhausted, a 4xx, a refused address or an inactive endpoint


# Deliveries that later ones of the same ordering key wait for.
OPEN_STATES = frozenset({DeliveryState.PENDING, DeliveryState.SENDING})


class AttemptOutcome(StrEnum):
    """What one attempt came to."""

    DELIVERED = "delivered"  # 2xx
    RETRY = "retry"  # 5xx, 429 or a network error: tried again later
    FAILED = "failed"  # another status, a refused address, or the last attempt failed
    INTERRUPTED = "interrupted"  # the worker died mid-attempt; the delivery was sent again
