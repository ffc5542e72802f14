"""The Socket.IO message queue over Redis: python-socketio's ``RedisManager`` with what a
dashboard's promises need on top.

* Its listener resubscribes within ``RESUBSCRIBE_SECONDS`` of Redis coming back (the library
  backs off 1, 2, 4 ... 60 s: a dashboard whose WebSocket never dropped heard nothing for that
  long), and then tells every connection of this process to catch up (``catch_up_needed``):
  what was published while it was not listening is in the event stream, not in its socket.
* It carries the re-check of a user's connections (``oms.recheck``) from the process that
  ended the sessions to every process holding a connection, so a logout or a demotion
  reaches an open socket at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import socketio

RESUBSCRIBE_SECONDS = 1.0  # the longest pause between two tries to listen again
CATCH_UP_NEEDED = "catch_up_needed"  # the event that tells a client to ask for what it missed
RECHECK = "oms.recheck"  # the queue message that re-checks some users' connections
_RECHECK_PREFIX = json.dumps({"method": RECHECK})[:-1].encode()


class RedisManager(socketio.RedisManager):
    """python-socketio's Redis manager, with a quick resubscribe that asks clients to catch
    up, and the cross-process re-check of users' connections."""

    name = "oms-redis"

    def __init__(
        self,
        url: str,
        *,
        channel: str,
        write_only: bool,
        on_resubscribed: Callable[[], None],
        on_recheck: Callable[[set[str]], None],
    ):
        super().__init__(url, channel=channel, write_only=write_only)
        self.on_resubscribed = on_resubscribed
        self.on_recheck = on_recheck

    def publish_recheck(self, user_ids: set[str]) -> None:
        """Ask every process (this one too) to re-check these users' connections now."""
        self._publish({"method": RECHECK, "user_ids": sorted(user_ids)})

    def _redis_listen_with_retries(self) -> Iterator[dict]:  # pragma: no cover (processes)
        subscribed, lost = False, False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    self.pubsub.subscribe(self.channel)
                    subscribed = True
                    if lost:  # listening again: what came meanwhile is only in the stream
                        lost = False
                        self.server.start_background_task(self.on_resubscribed)
                yield from self.pubsub.listen()
            except Exception as exc:
                self._get_logger().error(
                    f"Cannot receive from redis... retrying in {RESUBSCRIBE_SECONDS} secs",
                    extra={"redis_exception": str(exc)},
                )
                subscribed, lost = False, True
                time.sleep(RESUBSCRIBE_SECONDS)

    def _listen(self) -> Iterator:
        for message in super()._listen():
            if isinstance(message, bytes) and message.startswith(_RECHECK_PREFIX):
                user_ids = set(json.loads(message).get("user_ids") or [])
                self.server.start_background_task(self.on_recheck, user_ids)
                continue
            yield message
