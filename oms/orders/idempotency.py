"""``Idempotency-Key`` for order submission, per user, kept 24 hours.

The key is claimed inside the transaction that creates the order, and its response stored in
that same transaction: a committed order always has its replayable response, and a request
that fails (an error, the database going away, the process dying) leaves no claim behind, so
the client's retry goes ahead at once. While the first request runs, a retry with the same key
is told so (409 with ``Retry-After``): on PostgreSQL the claim holds a transaction-scoped
advisory lock, which ends with the transaction or its connection; on SQLite writing
transactions are serialised anyway, so the retry waits its turn and then replays.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta

import sqlalchemy as sa

from oms.db import as_utc, insert_or_ignore, is_postgresql, rowcount, transaction, utcnow
from oms.errors import ValidationError
from oms.extensions import db
from oms.orders.errors import IdempotencyInProgress
from oms.orders.models import IdempotencyKey

RETENTION = timedelta(hours=24)


def request_hash(body: dict) -> str:
    """A digest of the request body, to tell a retry from a different request."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _lock_id(user_id: uuid.UUID, key: str) -> int:
    """A signed 64-bit advisory lock id for (user, key)."""
    digest = hashlib.blake2b(f"{user_id}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def claim(*, user_id: uuid.UUID, key: str, body: dict) -> IdempotencyKey | None:
    """Claim ``key`` inside the current transaction. Returns the finished record to replay,
    or None when the caller should go ahead (and :func:`complete` it in this transaction).
    Another body under the same key is a 422; the same key while its first request still
    runs is a 409 :class:`IdempotencyInProgress`."""
    session = db.session
    if is_postgresql():
        locked = session.scalar(
            sa.select(sa.func.pg_try_advisory_xact_lock(_lock_id(user_id, key)))
        )
        if not locked:
            raise IdempotencyInProgress()
    digest = request_hash(body)
    now = utcnow()
    inserted = rowcount(
        session.execute(
            insert_or_ignore(IdempotencyKey)
            .values(
                user_id=user_id,
                key=key,
                request_hash=digest,
                created_at=now,
                expires_at=now + RETENTION,
            )
            .on_conflict_do_nothing()
        )
    )
    if inserted:
        return None
    record = session.scalars(
        sa.select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if as_utc(record.expires_at) <= now or record.response_status is None:
        # expired, or a claim left by a request that never finished: start afresh
        record.request_hash, record.created_at = digest, now
        record.expires_at, record.response_status, record.response_body = (
            now + RETENTION,
            None,
            None,
        )
        session.flush()
        return None
    if record.request_hash != digest:
        raise ValidationError(
            "This Idempotency-Key was used with a different request body.",
            details={"Idempotency-Key": ["Use a new key for a different order."]},
        )
    return record


def complete(*, user_id: uuid.UUID, key: str, status: int, body: dict) -> None:
    """Store the response to replay; call inside the transaction that claimed the key."""
    db.session.execute(
        sa.update(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .values(response_status=status, response_body=body)
    )


def purge_expired() -> int:
    """Delete keys past their 24 hours; returns how many."""
    with transaction() as session:
        result = session.execute(
            sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at < utcnow())
        )
    return rowcount(result)
