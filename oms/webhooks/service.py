"""Webhook use cases: endpoints (create, update, delete, rotate the secret), the fan-out of
each published event to the endpoints subscribed to it, and the delivery of one delivery row.

A delivery is written in the transaction of its event (:func:`fan_out`, an ``oms.events``
publish hook), with its task in the outbox: a rolled-back change sends nothing, a crash after
the commit loses nothing. :func:`send` claims the row, POSTs outside any transaction and
records the attempt; 5xx, 429 and network errors are retried with exponential backoff and
jitter by :func:`send_due` (beat), which also takes back deliveries whose worker died.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from oms import events, tasks
from oms.db import transaction, transaction_local, utcnow
from oms.event_catalogue import BY_NAME
from oms.extensions import db
from oms.outbox import service as outbox
from oms.webhooks import addresses, sender, signing
from oms.webhooks.enums import OPEN_STATES, AttemptOutcome, DeliveryState
from oms.webhooks.errors import WebhookNotFound, WebhookURLRefused
from oms.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

_UNSET: object = object()
log = logging.getLogger("oms.webhooks")
RETRY_FACTOR = 3
JITTER = 0.2


def _setting(name: str):
    return current_app.config[f"OMS_WEBHOOKS_{name}"]


def _check_url(url: str, own_hosts: frozenset[str]) -> None:
    addresses.check(url, allow_private=_setting("ALLOW_PRIVATE"), own_hosts=own_hosts)


# --- endpoints ---------------------------------------------------------------------------


def get_all() -> sa.Select:
    """Every endpoint (a query to page)."""
    return sa.select(WebhookEndpoint)


def get(*, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """The endpoint with this id, or WebhookNotFound."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise WebhookNotFound()
    return endpoint


def create(
    *,
    url: str,
    event_types: list[str],
    active: bool = True,
    description: str | None = None,
    own_hosts: frozenset[str] = frozenset(),
) -> WebhookEndpoint:
    """Register an endpoint with a fresh secret (the caller shows it once)."""
    _check_url(url, own_hosts)
    with transaction() as session:
        endpoint = WebhookEndpoint(
            url=url,
            event_types=sorted(set(event_types)),
            active=active,
            description=description,
            secret=signing.new_secret(),
        )
        session.add(endpoint)
    return endpoint


def update(
    *,
    endpoint_id: uuid.UUID,
    url: str | None = None,
    event_types: list[str] | None = None,
    active: bool | None = None,
    description: object = _UNSET,
    own_hosts: frozenset[str] = frozenset(),
) -> WebhookEndpoint:
    """Change an endpoint; switching it on again clears its failure state."""
    if url is not None:
        _check_url(url, own_hosts)
    with transaction():
        endpoint = get(endpoint_id=endpoint_id)
        if url is not None:
            endpoint.url = url
        if event_types is not None:
            endpoint.event_types = sorted(set(event_types))
        if description is not _UNSET:
            endpoint.description = description  # type: ignore[assignment]
        if active is not None:
            if active and not endpoint.active:
                endpoint.failing_since = endpoint.disabled_at = endpoint.disabled_reason = None
            endpoint.active = active
    return endpoint


def delete(*, endpoint_id: uuid.UUID) -> None:
    """Remove an endpoint and its delivery log."""
    with transaction() as session:
        session.delete(get(endpoint_id=endpoint_id))


def rotate_secret(*, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """Give the endpoint a new secret; deliveries from now on are signed with it."""
    with transaction():
        endpoint = get(endpoint_id=endpoint_id)
        endpoint.secret = signing.new_secret()
    return endpoint


def reencrypt_secrets() -> int:
    """Encrypt every endpoint's secret again with the first key of
    OMS_WEBHOOKS_ENCRYPTION_KEYS (run after putting a new key first); returns how many."""
    with transaction() as session:
        endpoints = session.scalars(sa.select(WebhookEndpoint).with_for_update()).all()
        for endpoint in endpoints:
            endpoint.secret_encrypted = signing.reencrypt(endpoint.secret_encrypted)
    return len(endpoints)


# --- fan-out -----------------------------------------------------------------------------


def _subscribers(event_type: str) -> list[WebhookEndpoint]:
    local = transaction_local()
    if "webhook_endpoints" not in local:
        local["webhook_endpoints"] = db.session.scalars(
            sa.select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))
        ).all()
    return [e for e in local["webhook_endpoints"] if event_type in e.event_types]


def payload_of(event: dict) -> dict:
    """The body an endpoint receives: the event without its Redis stream position."""
    return {key: value for key, value in event.items() if key != "seq"}


def fan_out(event: dict) -> None:
    """Publish hook: a delivery row and its task for each endpoint subscribed to the event."""
    entry = BY_NAME[event["type"]]
    if not entry.webhook:
        return
    endpoints = _subscribers(event["type"])
    if not endpoints:
        return
    key = f"{entry.ordered_by}:{event[entry.ordered_by]}" if entry.ordered_by else None
    payload = json.loads(json.dumps(payload_of(event), default=str))
    for endpoint in endpoints:
        _new_delivery(endpoint.id, event["id"], event["type"], key, payload)


def _new_delivery(
    endpoint_id: uuid.UUID,
    event_id: str,
    event_type: str,
    key: str | None,
    payload: dict,
    resent_from: int | None = None,
) -> WebhookDelivery:
    delivery = WebhookDelivery(
        endpoint_id=endpoint_id,
        event_id=event_id,
        event_type=event_type,
        ordering_key=key,
        payload=payload,
        state=DeliveryState.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
        resent_from=resent_from,
    )
    db.session.add(delivery)
    db.session.flush()
    outbox.enqueue(tasks.SEND_WEBHOOK, delivery_id=delivery.id)
    return delivery


def register() -> None:
    """Have every published event fanned out to the endpoints (called by the app factory)."""
    events.on_publish(fan_out)


# --- delivery ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A delivery a worker took for one attempt."""

    delivery_id: int
    attempt_id: int
    number: int
    url: str
    secret: str | None  # None: no configured key decrypts it
    event_id: str
    event_type: str
    body: bytes
    order_number: str | None = None  # for the log line (an order event's payload has it)


def _earlier_open(delivery: WebhookDelivery) -> sa.Exists:
    earlier = sa.orm.aliased(WebhookDelivery)
    return (
        sa.select(earlier.id)
        .where(
            earlier.endpoint_id == delivery.endpoint_id,
            earlier.ordering_key == delivery.ordering_key,
            earlier.id < delivery.id,
            earlier.state.in_(OPEN_STATES),
        )
        .exists()
    )


def _lock(delivery_id: int) -> WebhookDelivery | None:
    return db.session.scalar(
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _claim(delivery_id: int) -> Claim | None:
    now = utcnow()
    with transaction() as session:
        delivery = _lock(delivery_id)
        if delivery is None or delivery.state != DeliveryState.PENDING:
            return None
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            return None  # a retry not yet due: send_due sends it then
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None or not endpoint.active:
            delivery.state = DeliveryState.FAILED
            delivery.last_error = "The endpoint is inactive."
            _kick_next(delivery)
            return None
        if delivery.ordering_key is not None and session.scalar(sa.select(_earlier_open(delivery))):
            return None  # sent when the one before it is done (_kick_next)
        delivery.state = DeliveryState.SENDING
        delivery.claimed_at = now
        delivery.attempts += 1
        attempt = WebhookAttempt(delivery_id=delivery.id, number=delivery.attempts, started_at=now)
        session.add(attempt)
        session.flush()
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        try:
            secret: str | None = endpoint.secret
        except signing.SecretUnreadable:
            secret = None  # the attempt fails and is retried: an operator restores the key
        return Claim(
            delivery.id,
            attempt.id,
            delivery.attempts,
            endpoint.url,
            secret,
            delivery.event_id,
            delivery.event_type,
            body,
            delivery.payload.get("number"),
        )


def headers_for(claim: Claim, secret: str, timestamp: int) -> dict[str, str]:
    """The headers of one attempt (see the README's Webhooks section): the Standard Webhooks
    three, and until the next release the deprecated ``X-OMS-Timestamp`` and
    ``X-OMS-Signature``."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "oms-webhooks/1",
        "webhook-id": claim.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.sign(secret, claim.event_id, timestamp, claim.body),
        "X-OMS-Event-Id": claim.event_id,
        "X-OMS-Event-Type": claim.event_type,
        "X-OMS-Delivery-Id": str(claim.delivery_id),
        "X-OMS-Timestamp": str(timestamp),
        "X-OMS-Signature": signing.sign_legacy(secret, timestamp, claim.body),
    }


def _post(claim: Claim) -> sender.Answer:
    if claim.secret is None:
        return sender.Answer(None, None, "The endpoint's secret cannot be decrypted.", 0)
    try:
        target = addresses.check(claim.url, allow_private=_setting("ALLOW_PRIVATE"))
    except WebhookURLRefused as refused:  # checked again: DNS may have changed since
        return sender.Answer(None, None, f"refused: {refused.message}", 0)
    headers = headers_for(claim, claim.secret, int(utcnow().timestamp()))
    return sender.post(target, claim.body, headers, timeout=_setting("TIMEOUT_SECONDS"))


def _outcome(answer: sender.Answer, number: int) -> AttemptOutcome:
    if answer.status is not None and 200 <= answer.status < 300:
        return AttemptOutcome.DELIVERED
    retryable = (answer.status is None and not (answer.error or "").startswith("refused")) or (
        answer.status is not None and (answer.status >= 500 or answer.status == 429)
    )
    if retryable and number < _setting("MAX_ATTEMPTS"):
        return AttemptOutcome.RETRY
    return AttemptOutcome.FAILED


def backoff_seconds(number: int) -> float:
    """The wait after failed attempt ``number``: BASE * 3**(number-1), +-20 % jitter."""
    base = _setting("RETRY_BASE_SECONDS") * RETRY_FACTOR ** (number - 1)
    return base * random.uniform(1 - JITTER, 1 + JITTER)


def _kick_next(delivery: WebhookDelivery) -> None:
    """Send the next delivery of the same endpoint and ordering key, now that this one is
    done."""
    if delivery.ordering_key is None:
        return
    following = db.session.scalar(
        sa.select(WebhookDelivery.id)
        .where(
            WebhookDelivery.endpoint_id == delivery.endpoint_id,
            WebhookDelivery.ordering_key == delivery.ordering_key,
            WebhookDelivery.id > delivery.id,
            WebhookDelivery.state == DeliveryState.PENDING,
        )
        .order_by(WebhookDelivery.id)
        .limit(1)
    )
    if following is not None:
        outbox.enqueue(tasks.SEND_WEBHOOK, delivery_id=following)


def _note_failure(endpoint: WebhookEndpoint, at) -> None:
    """Start or extend the endpoint's failing spell; disable it once it lasted a day."""
    endpoint.failing_since = endpoint.failing_since or at
    limit = timedelta(seconds=_setting("DISABLE_AFTER_SECONDS"))
    if endpoint.active and utcnow() - endpoint.failing_since >= limit:
        endpoint.active = False
        endpoint.disabled_at = utcnow()
        endpoint.disabled_reason = (
            f"Every delivery failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC."
        )
        events.publish(
            "webhook.endpoint_disabled",
            endpoint_id=str(endpoint.id),
            url=endpoint.url,
            reason=endpoint.disabled_reason,
        )


def _record(claim: Claim, answer: sender.Answer) -> AttemptOutcome:
    outcome = _outcome(answer, claim.number)
    with transaction() as session:
        delivery = _lock(claim.delivery_id)
        attempt = session.get(WebhookAttempt, claim.attempt_id)
        if attempt is not None:
            attempt.status_code = answer.status
            attempt.duration_ms = answer.duration_ms
            attempt.response_excerpt = answer.excerpt
            attempt.error = answer.error
            attempt.outcome = outcome
        if delivery is None or delivery.state != DeliveryState.SENDING:
            return outcome  # taken back as stale meanwhile: that run decides
        if delivery.attempts != claim.number:
            return outcome
        endpoint = session.scalar(
            sa.select(WebhookEndpoint)
            .where(WebhookEndpoint.id == delivery.endpoint_id)
            .with_for_update()
        )
        delivery.last_status_code = answer.status
        delivery.last_error = answer.error
        delivery.claimed_at = None
        if outcome == AttemptOutcome.DELIVERED:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = utcnow()
            if endpoint is not None:
                endpoint.failing_since = None
        else:
            if endpoint is not None and attempt is not None:
                _note_failure(endpoint, attempt.started_at)
            if outcome == AttemptOutcome.RETRY:
                delivery.state = DeliveryState.PENDING
                delivery.next_attempt_at = utcnow() + timedelta(
                    seconds=backoff_seconds(claim.number)
                )
            else:
                delivery.state = DeliveryState.FAILED
        if delivery.state != DeliveryState.PENDING:
            _kick_next(delivery)
    return outcome


def send(*, delivery_id: int) -> str:
    """Make one attempt of this delivery if it is due and its turn (safe to run twice)."""
    claim = _claim(delivery_id)
    if claim is None:
        return "skipped"
    answer = _post(claim)
    outcome = _record(claim, answer)
    log.info(
        "webhook delivery attempt",
        extra={
            "delivery_id": claim.delivery_id,
            "event_type": claim.event_type,
            "order_number": claim.order_number,
            "attempt": claim.number,
            "status_code": answer.status,
            "outcome": outcome.value,
        },
    )
    return outcome.value


def send_due(*, limit: int = 500) -> int:
    """Beat: take back deliveries whose worker died mid-attempt, and send every delivery that
    is due and first in its line; returns how many were queued."""
    now = utcnow()
    stale = now - timedelta(seconds=_setting("STALE_SECONDS"))
    with transaction() as session:
        lost = session.scalars(
            sa.select(WebhookDelivery)
            .where(
                WebhookDelivery.state == DeliveryState.SENDING, WebhookDelivery.claimed_at < stale
            )
            .with_for_update(skip_locked=True)
        ).all()
        for delivery in lost:
            delivery.state = DeliveryState.PENDING
            delivery.next_attempt_at = now
            delivery.claimed_at = None
            delivery.last_error = "The worker was lost mid-attempt."
            session.execute(
                sa.update(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery.id, WebhookAttempt.outcome.is_(None))
                .values(outcome=AttemptOutcome.INTERRUPTED, error=delivery.last_error)
            )
        session.flush()
        earlier = sa.orm.aliased(WebhookDelivery)
        blocked = (
            sa.select(earlier.id)
            .where(
                earlier.endpoint_id == WebhookDelivery.endpoint_id,
                earlier.ordering_key == WebhookDelivery.ordering_key,
                earlier.id < WebhookDelivery.id,
                earlier.state.in_(OPEN_STATES),
            )
            .exists()
        )
        due = session.scalars(
            sa.select(WebhookDelivery.id)
            .where(
                WebhookDelivery.state == DeliveryState.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                ~blocked,
            )
            .order_by(WebhookDelivery.id)
            .limit(limit)
        ).all()
        for delivery_id in due:
            outbox.enqueue(tasks.SEND_WEBHOOK, delivery_id=delivery_id)
    return len(due)


# --- the delivery log --------------------------------------------------------------------


def deliveries(*, endpoint_id: uuid.UUID) -> sa.Select:
    """An endpoint's deliveries (a query to page)."""
    get(endpoint_id=endpoint_id)
    return sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)


def resend(*, endpoint_id: uuid.UUID, delivery_id: int) -> WebhookDelivery:
    """Send a delivery's event again, as a new delivery (same event id) at the back of its
    line; works for delivered and failed ones alike."""
    with transaction() as session:
        endpoint = get(endpoint_id=endpoint_id)
        original = session.get(WebhookDelivery, delivery_id)
        if original is None or original.endpoint_id != endpoint.id:
            raise WebhookNotFound("delivery of this endpoint")
        return _new_delivery(
            endpoint.id,
            original.event_id,
            original.event_type,
            original.ordering_key,
            original.payload,
            resent_from=original.id,
        )
