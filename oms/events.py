"""The one publisher of domain events.

Services call :func:`publish` inside their transaction; the event leaves only after the commit
(nothing is published for a rolled-back transaction). Delivery appends it to the deployment's
Redis stream ``<namespace>:events`` when Redis is configured (the stream id becomes the event's
``seq``, so a client that reconnects can ask for what it missed) and hands it to in-process
listeners (the Socket.IO relay, tests).

Every event has the same envelope: ``{"id", "type", "version", "at", "seq", ...fields}``;
types, versions and fields are those of the catalogue (``oms.event_catalogue``), and an event
it does not list is refused. Hooks registered with :func:`on_publish` see each event inside
the transaction that publishes it (the webhooks write their deliveries there, so they commit
or roll back with the change).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import redis

from oms.db import after_commit, utcnow
from oms.event_catalogue import check
from oms.redis_store import redis_client, redis_key

STREAM_MAXLEN = 100_000

log = logging.getLogger("oms.events")
_listeners: list[Callable[[dict], None]] = []
_publish_hooks: list[Callable[[dict], None]] = []


def on_publish(hook: Callable[[dict], None]) -> None:
    """Call ``hook(event)`` inside the publishing transaction for every event (once per hook).

    A hook that raises rolls the change back with it: it must only write to the session."""
    if hook not in _publish_hooks:
        _publish_hooks.append(hook)


def subscribe(listener: Callable[[dict], None]) -> Callable[[], None]:
    """Call ``listener(event)`` for every delivered event; returns the unsubscribe function."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def publish(event_type: str, **fields) -> None:
    """Publish ``event_type`` with ``fields`` once the current transaction commits."""
    entry = check(event_type, fields)
    event = {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "version": entry.version,
        **fields,
        "at": fields.get("at") or utcnow().isoformat(),
    }
    for hook in list(_publish_hooks):
        hook(event)

    def deliver_event() -> None:
        deliver(event)

    after_commit(deliver_event)


def stream_key() -> str:
    """The Redis stream of this deployment's events."""
    return redis_key("events")


def deliver(event: dict) -> dict:
    """Stamp, store and hand out one event; a failure here never undoes the committed change."""
    event = {**event, "at": event.get("at") or utcnow().isoformat(), "seq": None}
    client = redis_client()
    if client is not None:
        try:
            seq = client.xadd(
                stream_key(),
                {"event": json.dumps(event, default=str)},
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
            event["seq"] = seq.decode() if isinstance(seq, bytes) else seq
        except redis.RedisError:
            log.warning("event not stored in Redis", extra={"event_type": event["type"]})
    for listener in list(_listeners):
        try:
            listener(event)
        except Exception:  # a broken listener must not break the request that committed
            log.exception("event listener failed", extra={"event_type": event["type"]})
    return event


def read_since(seq: str | None = None, *, count: int = 1000) -> list[dict]:
    """Events stored after ``seq`` (all kept ones when None), oldest first."""
    client = redis_client()
    if client is None:
        return []
    return [event for _, event in _entries(client, seq, count)]


CATCH_UP_LIMIT = 1000  # events one catch-up answers with at most
CATCH_UP_SCAN = 20_000  # stored events one catch-up reads at most to find them
_PAGE = 1000


@dataclass(frozen=True)
class CatchUp:
    """What a reconnecting client missed; ``complete`` False means it must refetch state."""

    events: list[dict]
    complete: bool


def catch_up(
    since: str | None,
    *,
    keep: Callable[[dict], bool],
    limit: int = CATCH_UP_LIMIT,
    scan: int = CATCH_UP_SCAN,
) -> CatchUp:
    """The events after ``since`` that ``keep`` accepts, filtered before limiting (a
    customer's own event is found however many unrelated ones came in between).

    Incomplete when more than ``limit`` match, when ``scan`` stored events were read without
    reaching the end, or when ``since`` is no longer in the stream (trimmed, Redis restarted
    without persistence, or never ours): the events in between may be gone.
    """
    client = redis_client()
    if client is None:  # nothing is stored in the embedded default: only a refetch is sure
        return CatchUp(events=[], complete=since is None)
    complete = since is None or _still_stored(client, since)
    found: list[dict] = []
    cursor, read = since, 0
    while True:
        want = min(_PAGE, scan - read)
        page = _entries(client, cursor, want)
        read += len(page)
        found.extend(event for _, event in page if keep(event))
        if len(found) > limit:
            return CatchUp(events=found[:limit], complete=False)
        if len(page) < want:  # the end of the stream
            return CatchUp(events=found, complete=complete)
        cursor = page[-1][0]
        if read >= scan:
            return CatchUp(events=found, complete=complete and not _entries(client, cursor, 1))


def _still_stored(client: redis.Redis, seq: str) -> bool:
    try:
        return bool(client.xrange(stream_key(), min=seq, max=seq, count=1))
    except redis.ResponseError:  # not a stream id at all
        return False


def _entries(client: redis.Redis, seq: str | None, count: int) -> list[tuple[str, dict]]:
    """Up to ``count`` stored events after ``seq`` as ``(seq, event)``, oldest first."""
    if count <= 0:
        return []
    start = f"({seq}" if seq else "-"
    # the client returns bytes (no decode_responses)
    entries = cast(
        list[tuple[bytes, dict[bytes, bytes]]],
        client.xrange(stream_key(), min=start, max="+", count=count),
    )
    return [
        (sid.decode(), {**json.loads(fields[b"event"]), "seq": sid.decode()})
        for sid, fields in entries
    ]
