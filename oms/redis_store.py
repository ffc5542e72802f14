"""The app's Redis client and the names it uses there, scoped to the deployment.

Every Redis name (the event stream, the task counters, the rate-limit keys, the Socket.IO
channel) starts with ``OMS_REDIS_NAMESPACE``, by default taken from the Redis URL's host, port
and db. Keys already live in their db, but pub/sub channels ignore the db number: without the
prefix two deployments on one Redis server would hear each other's events.
"""

from __future__ import annotations

import redis
from flask import current_app


def redis_key(*parts: str) -> str:
    """``<namespace>:<parts...>``, the name of one thing this deployment keeps in Redis."""
    return ":".join((current_app.config["OMS_REDIS_NAMESPACE"], *parts))


def redis_client() -> redis.Redis | None:
    """The app's Redis client, or None in the embedded default."""
    url = current_app.config.get("OMS_REDIS_URL")
    if not url:
        return None
    clients = current_app.extensions.setdefault("oms_redis", {})
    if url not in clients:
        clients[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
    return clients[url]
