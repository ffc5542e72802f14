"""``Idempotency-Key`` for order submission, per user, kept 24 hours.

The key is claimed in a short transaction of its own (so a concurrent retry sees it at once),
completed in the same transaction as the order (so a committed order always has its replayable
response), and released if the submission fails (so a corrected retry can use it).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta

import sqlalchemy as sa

from oms.db import as_utc, insert_or_ignore, transaction, utcnow
from oms.errors import ConflictError, ValidationError
from oms.extensions import db
from oms.orders.models import IdempotencyKey

RETENTION = timedelta(hours=24)
# A claim whose request never finished (the process died) may be taken over after this long.
STALE_AFTER = timedelta(minutes=2)


def request_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def claim(*, user_id: uuid.UUID, key: str, body: dict) -> IdempotencyKey | None:
    """Claim ``key`` for this request. Returns the finished record to replay, or None when the
    caller should go ahead. Another body under the same key is a 422; the same key while its
    first request still runs is a 409."""
    digest = request_hash(body)
    now = utcnow()
    with transaction() as session:
        inserted = session.execute(
            insert_or_ignore(IdempotencyKey)
            .values(
                user_id=user_id,
                key=key,
                request_hash=digest,
                created_at=now,
                expires_at=now + RETENTION,
            )
            .on_conflict_do_nothing()
        ).rowcount
        if inserted:
            return None
        record = session.scalars(
            sa.select(IdempotencyKey)
            .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
            .with_for_update()
        ).one()
        if as_utc(record.expires_at) <= now:
            record.request_hash, record.created_at = digest, now
            record.expires_at, record.response_status, record.response_body = (
                now + RETENTION,
                None,
                None,
            )
            return None
        if record.request_hash != digest:
            raise ValidationError(
                "This Idempotency-Key was used with a different request body.",
                details={"Idempotency-Key": ["Use a new key for a different order."]},
            )
        if record.response_status is None:
            if as_utc(record.created_at) > now - STALE_AFTER:
                raise ConflictError("A request with this Idempotency-Key is still being processed.")
            record.created_at = now
            return None
        return record


def complete(*, user_id: uuid.UUID, key: str, status: int, body: dict) -> None:
    """Store the response to replay; call inside the transaction that creates the order."""
    db.session.execute(
        sa.update(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .values(response_status=status, response_body=body)
    )


def release(*, user_id: uuid.UUID, key: str) -> None:
    """Forget an unfinished claim after the request failed."""
    with transaction() as session:
        session.execute(
            sa.delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id,
                IdempotencyKey.key == key,
                IdempotencyKey.response_status.is_(None),
            )
        )


def purge_expired() -> int:
    """Delete keys past their 24 hours; returns how many."""
    with transaction() as session:
        result = session.execute(
            sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at < utcnow())
        )
    return result.rowcount or 0
