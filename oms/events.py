"""The one publisher of domain events.

Services call :func:`publish` inside their transaction; the event leaves only after the commit
(nothing is published for a rolled-back transaction). Delivery appends it to the deployment's
Redis stream ``<namespace>:events`` when Redis is configured (the stream id becomes the event's
``seq``, so a client that reconnects can ask for what it missed) and hands it to in-process
listeners (the Socket.IO relay, tests).

With Redis, every event is also written to the outbox in its transaction (an
``outbox_messages`` row of task :data:`OUTBOX_TASK`, inserted with the transaction's other
outbox rows): an event the stream refuses (Redis away), or whose process died after the
commit, is stored and relayed by the outbox relay once Redis is back, oldest first, so a
client that catches up gets it, and ``complete`` is never true without it. The relay also
takes every row the stream did get: a small Redis key per event id (kept a day) makes storing
an event a second time a no-op, so nothing is stored or relayed live twice. A process whose
delivery failed leaves its events to the relay for :data:`RELAY_ONLY_SECONDS`, so its later
events do not overtake the earlier ones of the same order.

Every event has the same envelope: ``{"id", "type", "version", "at", "seq", ...fields}``;
types, versions and fields are those of the catalogue (``oms.event_catalogue``), and an event
it does not list is refused. Hooks registered with :func:`on_publish` see each event inside
the transaction that publishes it (the webhooks write their deliveries there, so they commit
or roll back with the change).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

import redis
import sqlalchemy as sa
from redis.commands.core import Script

from oms.db import after_commit, transaction, utcnow
from oms.event_catalogue import check
from oms.extensions import db
from oms.outbox.models import OutboxMessage
from oms.redis_store import redis_client, redis_key

STREAM_MAXLEN = 100_000
OUTBOX_TASK = "events.deliver"  # events' outbox rows (no Celery task: the relay stores them)
STORED_KEY_SECONDS = 24 * 3600  # how long "this event id is in the stream" is remembered
RELAY_ONLY_SECONDS = 10.0  # after a failed delivery, this process's events wait for the relay
_relay_only_until = 0.0
_scripts: dict[int, Script] = {}  # the store-once script, per Redis client

# Store an event once: KEYS[1] the stream, KEYS[2] the event id's marker, KEYS[3] since when
# Redis keeps them (set once, lost with them); ARGV the event's JSON, the stream's length cap,
# the marker's lifetime, now. Answers {1, seq} when stored now, {0, seq} when stored before.
_STORE_ONCE = """
local seen = redis.call('GET', KEYS[2])
if seen then return {0, seen} end
local seq = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[1])
redis.call('SET', KEYS[2], seq, 'EX', ARGV[3])
redis.call('SET', KEYS[3], ARGV[4], 'NX')
return {1, seq}
"""

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
    if redis_client() is None:  # the embedded default has no stream: nothing to relay
        for hook in list(_publish_hooks):
            hook(event)
        after_commit(lambda: _hand_out({**event, "seq": None}))
        return
    # as the outbox and the stream keep it; added before the hooks read anything, so the
    # transaction's outbox rows go out in one INSERT (a hook's query flushes them)
    event = json.loads(json.dumps(event, default=str))
    message = OutboxMessage(task=OUTBOX_TASK, kwargs={"event": event}, attempts=0)
    db.session.add(message)
    for hook in list(_publish_hooks):
        hook(event)

    def deliver_event() -> None:
        if time.monotonic() < _relay_only_until or deliver(event)["seq"] is None:
            _leave_to_relay(message)

    after_commit(deliver_event)


def stream_key() -> str:
    """The Redis stream of this deployment's events."""
    return redis_key("events")


def deliver(event: dict) -> dict:
    """Stamp, store and hand out one event; a failure here never undoes the committed change.

    An event the stream refuses is not handed out: its outbox row stays unsent, and the relay
    delivers it (:func:`deliver_stored`) once Redis is back. One stored before is not handed
    out again."""
    global _relay_only_until
    event = {**event, "at": event.get("at") or utcnow().isoformat(), "seq": None}
    if redis_client() is not None:
        try:
            if not _store(event):
                return event
        except redis.RedisError:
            _relay_only_until = time.monotonic() + RELAY_ONLY_SECONDS
            log.warning("event left to the relay", extra={"event_type": event["type"]})
            return event
    _hand_out(event)
    return event


def _leave_to_relay(message: OutboxMessage) -> None:
    """After the commit: note on the event's row that its process did not store it (an
    attempt), so the relay stores it even after Redis lost its data (it takes an untried row
    written before that as stored in the stream Redis lost)."""
    row_id = cast(tuple, sa.inspect(message).identity)[0]  # no read of the row again
    try:
        with transaction() as session:
            session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(attempts=OutboxMessage.attempts + 1)
            )
    except Exception:  # the database is away too: the relay still takes it unless Redis restarts
        db.session.rollback()
        log.exception("an event was not noted as left to the relay")


def kept_since(client: redis.Redis) -> datetime:
    """Since when Redis has kept this deployment's stream and markers: the time of the first
    store after it last lost them (restarted without persistence, flushed)."""
    key = redis_key("events", "kept-since")
    now = time.time()
    client.set(key, now, nx=True)
    kept = client.get(key)
    return datetime.fromtimestamp(float(kept or now), UTC)


def deliver_stored(event: dict) -> None:
    """The outbox relay's delivery of an event committed earlier: stored in the stream and
    handed out unless it was already; raises ``redis.RedisError`` while Redis is away."""
    event = {**event, "seq": None}
    if _store(event):
        _hand_out(event)


def stream_client() -> redis.Redis:
    """The Redis client of the stream (a ``redis.ConnectionError`` when none is configured)."""
    client = redis_client()
    if client is None:
        raise redis.ConnectionError("no Redis configured")
    return client


def _store(event: dict) -> bool:
    """Append ``event`` to the stream, setting its ``seq``; False when an event of its id was
    stored before (then ``seq`` is that entry's)."""
    client = stream_client()
    body = json.dumps({k: v for k, v in event.items() if k != "seq"}, default=str)
    if not event.get("id"):  # not from publish(): nothing to store it once by
        seq = client.xadd(stream_key(), {"event": body}, maxlen=STREAM_MAXLEN, approximate=True)
        event["seq"] = seq.decode() if isinstance(seq, bytes) else seq
        return True
    if id(client) not in _scripts:
        _scripts[id(client)] = client.register_script(_STORE_ONCE)
    keys = [
        stream_key(),
        redis_key("events", "stored", event["id"]),
        redis_key("events", "kept-since"),
    ]
    stored_now, seq = cast(
        list, _scripts[id(client)](keys, [body, STREAM_MAXLEN, STORED_KEY_SECONDS, time.time()])
    )
    event["seq"] = seq.decode() if isinstance(seq, bytes) else seq
    return bool(stored_now)


def _hand_out(event: dict) -> None:
    for listener in list(_listeners):
        try:
            listener(event)
        except Exception:  # a broken listener must not break the request that committed
            log.exception("event listener failed", extra={"event_type": event["type"]})


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
    reaching the end, when ``since`` is no longer in the stream (trimmed, Redis restarted
    without persistence, or never ours): the events in between may be gone; or when an event
    committed a second ago or more still waits for the outbox relay (Redis was away).
    """
    client = redis_client()
    if client is None:  # nothing is stored in the embedded default: only a refetch is sure
        return CatchUp(events=[], complete=since is None)
    complete = (since is None or _still_stored(client, since)) and not _awaiting_relay(client)
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


RELAY_CHECK_LIMIT = 500  # outbox rows one check reads at most
_relay_check: tuple[float, bool] = (0.0, False)  # (when, verdict): one check a second


def _awaiting_relay(client: redis.Redis) -> bool:
    """Whether an event committed a second ago or more is not in the stream yet (its process
    could not store it: Redis was away, or it died) and waits for the outbox relay: until
    then no catch-up is complete. Its outbox row is unsent, and no marker says it was stored
    (the rows its own process stored wait for the relay's next pass unsent too)."""
    global _relay_check
    checked_at, verdict = _relay_check
    if time.monotonic() - checked_at < 1.0:
        return verdict
    waiting = db.session.scalars(
        sa.select(OutboxMessage.kwargs)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.created_at < utcnow() - timedelta(seconds=1),
            OutboxMessage.task == OUTBOX_TASK,
        )
        .order_by(OutboxMessage.created_at)
        .limit(RELAY_CHECK_LIMIT)
    ).all()
    ids = [row["event"]["id"] for row in waiting]
    markers = client.mget([redis_key("events", "stored", i) for i in ids]) if ids else []
    verdict = any(marker is None for marker in markers)
    _relay_check = (time.monotonic(), verdict)
    return verdict


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
