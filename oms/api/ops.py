"""``/api/v1/ops``: stuck work and its replay, worker health (admins only)."""

from __future__ import annotations

from oms.auth.access import require_role
from oms.auth.enums import UserRole
from oms.openapi import Blueprint
from oms.ops import service, workers
from oms.ops.schemas import (
    ProblemListSchema,
    ProblemQuerySchema,
    ReplaySchema,
    WorkerHealthSchema,
)

blp = Blueprint(
    "ops", __name__, description="Stuck work found and replayed, worker health (admins only)"
)


@blp.route("/problems", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.arguments(ProblemQuerySchema, location="query")
@blp.response(200, ProblemListSchema)
def list_problems(args):
    """Stuck work, oldest first: orders pending too long, unsent outbox rows and emails,
    failed or silent exports, exhausted webhook deliveries and dead letters."""
    return service.problems(kind=args.get("kind"), limit=args["limit"])


@blp.route("/problems/<string:kind>/<string:problem_id>/replay", methods=["POST"])
@require_role(UserRole.ADMIN)
@blp.response(202, ReplaySchema)
@blp.alt_response(409, description="Not stuck any more (done meanwhile or replayed already)")
def replay_problem(kind, problem_id):
    """Hand one problem back to its mechanism (outbox, reservation, email task, export run,
    webhook resend, the dead letter's task); writes an audit entry."""
    return service.replay(kind=kind, problem_id=problem_id)


@blp.route("/workers", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.response(200, WorkerHealthSchema)
def worker_health():
    """The Celery workers that answer (with the tasks they run), messages waiting per queue,
    task outcomes per task name, and Flower's address."""
    return workers.health()
