"""``/healthz`` (the process answers) and ``/readyz`` (its dependencies answer)."""

from __future__ import annotations

import redis
import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from oms.extensions import db, limiter
from oms.ops import workers

blp = Blueprint("health", __name__)


@blp.get("/healthz")
@limiter.exempt
def healthz():
    """The process answers (liveness)."""
    return jsonify({"status": "ok"})


@blp.get("/readyz")
@limiter.exempt
def readyz():
    """The database and Redis answer (readiness); 503 names what is down. With a broker, a
    worker must answer a ping too, or the deployment is ``degraded``: still 200, since this
    process serves (orders wait in the queue), but the check names it."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready", whatever the driver raised
        db.session.rollback()
        checks["database"] = f"down: {exc.__class__.__name__}"
    redis_url = current_app.config["OMS_REDIS_URL"]
    if redis_url:
        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1).ping()
            checks["redis"] = "ok"
        except redis.RedisError as exc:
            checks["redis"] = f"down: {exc.__class__.__name__}"
    ready = all(v == "ok" for v in checks.values())
    status = "ready" if ready else "unavailable"
    worker_check = workers.readiness() if ready else None
    if worker_check is not None:
        checks["workers"] = worker_check
        status = "ready" if worker_check == "ok" else "degraded"
    return jsonify({"status": status, "checks": checks}), 200 if ready else 503
