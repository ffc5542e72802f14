"""Socket.IO handlers: authenticate on connect, join the user's rooms, catch up on request.

Clients authenticate with the browser's ``access_token_cookie`` or an ``auth`` payload
``{"token": "<access token>"}``; a missing, invalid, expired or revoked token, or an inactive
account, refuses the connection. There is no "join" handler: rooms come from the user alone.
"""

from __future__ import annotations

import logging
import uuid

from flask import request
from flask_jwt_extended import decode_token
from flask_socketio import ConnectionRefusedError, join_room

from oms import events
from oms.auth import service as auth_service
from oms.auth.models import User
from oms.extensions import db, socketio
from oms.realtime.rooms import rooms_for_event, rooms_for_user

log = logging.getLogger("oms.realtime")

# connection sid -> rooms it sits in (for catch-up filtering)
_connections: dict[str, set[str]] = {}


def _authenticate(auth) -> User:
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
    ids = [claims["jti"]] + ([claims["sid"]] if claims.get("sid") else [])
    if auth_service.is_revoked(token_ids=ids):
        raise ConnectionRefusedError("token revoked")
    user = db.session.get(User, uuid.UUID(claims["sub"]))
    if user is None or not user.is_active:
        raise ConnectionRefusedError("account inactive")
    return user


@socketio.on("connect")
def on_connect(auth=None):
    user = _authenticate(auth)
    rooms = rooms_for_user(user)
    for room in rooms:
        join_room(room)
    _connections[request.sid] = rooms
    socketio.emit("welcome", {"user_id": str(user.id), "rooms": sorted(rooms)}, to=request.sid)


@socketio.on("disconnect")
def on_disconnect(*_args):
    _connections.pop(request.sid, None)


@socketio.on("catch_up")
def on_catch_up(data=None):
    """Events after ``{"since": seq}`` that this connection may see (ack reply, oldest first,
    at most 1000: a client that missed more should refetch state)."""
    since = data.get("since") if isinstance(data, dict) else None
    rooms = _connections.get(request.sid, set())
    try:
        missed = events.read_since(since if isinstance(since, str) else None)
    except Exception:  # a malformed seq: answer with nothing rather than an error
        log.warning("bad catch-up request", extra={"since": str(since)[:100]})
        return []
    return [e for e in missed if rooms_for_event(e) & rooms]
