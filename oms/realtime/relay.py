"""Relay every delivered domain event to the Socket.IO rooms that may see it."""

from __future__ import annotations

from oms import events
from oms.extensions import socketio
from oms.realtime.rooms import rooms_for_event

_subscribed = False


def relay(event: dict) -> None:
    """Emit ``event`` under its type name to the rooms that may see it (a connection in
    several of them gets it once)."""
    socketio.emit(event["type"], event, to=sorted(rooms_for_event(event)))


def register_relay() -> None:
    """Subscribe the relay to the event publisher, once per process."""
    global _subscribed
    if not _subscribed:
        events.subscribe(relay)
        _subscribed = True
