"""Socket.IO handlers: authenticate on connect, join the user's rooms, catch up on request,
and keep checking that each connection's login is still good.

Clients authenticate with the browser's ``access_token_cookie`` or an ``auth`` payload
``{"token": "<access token>"}``; a missing, invalid, expired or revoked token, or an inactive
account, refuses the connection. There is no "join" handler: rooms come from the user alone.
A logout, a password change, a deactivation or a new role re-checks that user's connections in
every process at once (``recheck_everywhere``, through Redis), and every
``OMS_SOCKET_RECHECK_SECONDS`` each process serving Socket.IO re-checks all its own (expired
tokens); it disconnects those whose token expired or was revoked or whose user was
deactivated or changed role; clients reconnect with a fresh token and get the rooms they now
deserve. An admin's connection also starts the worker-health push (``workers_feed``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app, request
from flask_jwt_extended import decode_token
from flask_socketio import ConnectionRefusedError, join_room

from oms import events
from oms.auth import service as auth_service
from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.extensions import socketio
from oms.realtime import workers_feed
from oms.realtime.manager import CATCH_UP_NEEDED, RedisManager
from oms.realtime.rooms import rooms_for_event, rooms_for_user

log = logging.getLogger("oms.realtime")


@dataclass(frozen=True)
class Connection:
    """What a connection was let in with, to check it again later."""

    user_id: uuid.UUID
    role: UserRole
    token_ids: tuple[str, ...]
    epoch: int  # the user's session epoch the token was issued in
    expires_at: datetime
    rooms: frozenset[str]


def _sid() -> str:
    """This Socket.IO connection's id (Flask-SocketIO sets it on the request)."""
    return request.sid  # type: ignore[attr-defined]


_connections: dict[str, Connection] = {}  # this process's connections, by sid
_recheck_started = threading.Lock()
_recheck_running = False


def _authenticate(auth) -> tuple[User, dict]:
    token = (auth or {}).get("token") if isinstance(auth, dict) else None
    token = token or request.cookies.get("access_token_cookie")
    if not token:
        raise ConnectionRefusedError("authentication required")
    try:
        claims = decode_token(token)
    except Exception as exc:  # expired, tampered, malformed: all mean "not authenticated"
        raise ConnectionRefusedError("invalid or expired token") from exc
    if claims.get("type") != "access":
        raise ConnectionRefusedError("an access token is required")
    user, revoked = auth_service.token_holder(claims)
    if revoked:
        raise ConnectionRefusedError("token revoked")
    if user is None or not user.is_active:
        raise ConnectionRefusedError("account inactive")
    return user, claims


def invalid_connections(connections: dict[str, Connection]) -> list[str]:
    """The sids whose token expired or was revoked, or whose user is gone, inactive, has
    another role now or ended every session since (two queries whatever the number of
    connections)."""
    if not connections:
        return []
    now = datetime.now(UTC)
    user_ids = {c.user_id for c in connections.values()}
    access = auth_service.access_of(user_ids)
    revoked = auth_service.revoked_among({t for c in connections.values() for t in c.token_ids})
    bad = []
    for sid, c in connections.items():
        if (
            c.expires_at <= now
            or revoked.intersection(c.token_ids)
            or access.get(c.user_id) != (True, c.role, c.epoch)
        ):
            bad.append(sid)
    return bad


def recheck(app, user_ids: set[str] | None = None) -> None:
    """Disconnect this process's connections (of ``user_ids`` only, when given) whose login
    is no longer good: they reconnect with the rooms they now deserve, or not at all."""
    try:
        with app.app_context():
            mine = {
                sid: c
                for sid, c in list(_connections.items())
                if user_ids is None or str(c.user_id) in user_ids
            }
            for sid in invalid_connections(mine):
                _connections.pop(sid, None)
                socketio.server.disconnect(sid)
    except Exception:  # keep checking; a database hiccup must not end the loop
        log.exception("socket re-check failed")


def recheck_everywhere(user_ids: set[str]) -> None:
    """After a commit that ended sessions of ``user_ids`` (``oms.auth.service``): every
    process serving Socket.IO re-checks their connections now, through Redis; without Redis
    only this process serves it, and does so on a background task."""
    manager = getattr(socketio.server, "manager", None)
    if isinstance(manager, RedisManager):
        manager.publish_recheck(user_ids)
    elif socketio.server is not None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        socketio.start_background_task(recheck, app, set(user_ids))


def ask_to_catch_up() -> None:
    """Tell every connection of this process to catch up: its process stopped listening to
    Redis for a while, and the events of that while reach it only through ``catch_up``."""
    socketio.emit(CATCH_UP_NEEDED, {}, ignore_queue=True)


def _recheck_forever(app) -> None:
    interval = app.config["OMS_SOCKET_RECHECK_SECONDS"]
    while True:
        time.sleep(interval)
        recheck(app)


def _start_rechecks() -> None:
    global _recheck_running
    with _recheck_started:
        if not _recheck_running:
            _recheck_running = True
            socketio.start_background_task(_recheck_forever, current_app._get_current_object())  # type: ignore[attr-defined]


def _admin_sids() -> list[str]:
    """This process's admin connections (worker health goes to them)."""
    return [sid for sid, c in list(_connections.items()) if c.role == UserRole.ADMIN]


@socketio.on("connect")
def on_connect(auth=None):
    """Authenticate, join the user's rooms and say welcome; refuse a bad login."""
    user, claims = _authenticate(auth)
    rooms = rooms_for_user(user)
    for room in rooms:
        join_room(room)
    _connections[_sid()] = Connection(
        user_id=user.id,
        role=user.role,
        token_ids=tuple(auth_service.token_ids(claims)),
        epoch=claims["ep"],
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        rooms=frozenset(rooms),
    )
    _start_rechecks()
    if user.role == UserRole.ADMIN:
        workers_feed.start(current_app._get_current_object(), _admin_sids)  # type: ignore[attr-defined]
    socketio.emit("welcome", {"user_id": str(user.id), "rooms": sorted(rooms)}, to=_sid())


@socketio.on("disconnect")
def on_disconnect(*_args):
    """Forget the connection."""
    _connections.pop(_sid(), None)


@socketio.on("catch_up")
def on_catch_up(data=None):
    """Events after ``{"since": seq}`` that this connection may see, as the ack
    ``{"events": [...oldest first], "complete": bool}``; ``complete`` False means the client
    missed events it cannot be given (too many, or no longer kept) and must refetch state."""
    connection = _connections.get(_sid())
    if connection is None or invalid_connections({_sid(): connection}):
        return {"events": [], "complete": False}
    since = data.get("since") if isinstance(data, dict) else None
    since = since if isinstance(since, str) and since else None
    try:
        missed = events.catch_up(since, keep=lambda e: bool(rooms_for_event(e) & connection.rooms))
    except Exception:  # a malformed seq or Redis away: the client refetches
        log.warning("catch-up failed", extra={"since": str(since)[:100]})
        return {"events": [], "complete": False}
    return {"events": missed.events, "complete": missed.complete}
