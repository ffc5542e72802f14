"""Request and response schemas of ``/api/v1/ops``: problems and worker health."""

from __future__ import annotations

import marshmallow as ma

from oms.ops.enums import ProblemKind
from oms.schemas import StrictSchema

KIND_VALUES = [kind.value for kind in ProblemKind]
MAX_LIMIT = 200


class ProblemQuerySchema(StrictSchema):
    """One kind only (``kind``), and at most ``limit`` problems (oldest first)."""

    kind = ma.fields.String(validate=ma.validate.OneOf(KIND_VALUES))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=MAX_LIMIT))


class ProblemSchema(ma.Schema):
    """One stuck thing: what it is (``kind``, ``id``), why it is listed, since when, and a few
    details of it (an order's number, a task's name, a delivery's endpoint)."""

    kind = ma.fields.String(metadata={"enum": KIND_VALUES})
    id = ma.fields.String(metadata={"description": "The id of the order, row, job or delivery"})
    reason = ma.fields.String()
    since = ma.fields.DateTime()
    details = ma.fields.Dict(keys=ma.fields.String())


class ProblemListSchema(ma.Schema):
    """The oldest problems, and how many of each kind there are (exact up to 10,000)."""

    items = ma.fields.List(ma.fields.Nested(ProblemSchema))
    limit = ma.fields.Integer()
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    has_more = ma.fields.Boolean(metadata={"description": "More problems than listed"})


class ReplaySchema(ma.Schema):
    """What a replay did."""

    kind = ma.fields.String(metadata={"enum": KIND_VALUES})
    id = ma.fields.String()
    action = ma.fields.String(metadata={"description": "What was queued or sent again"})


class ActiveTaskSchema(ma.Schema):
    """A task a worker is running now."""

    id = ma.fields.String(allow_none=True)
    name = ma.fields.String(allow_none=True)
    started_at = ma.fields.String(allow_none=True, metadata={"description": "ISO 8601, UTC"})


class WorkerSchema(ma.Schema):
    """One Celery worker that answered the inspection."""

    name = ma.fields.String(metadata={"description": "The worker's node name (w1@host)"})
    pid = ma.fields.Integer(allow_none=True)
    concurrency = ma.fields.Integer(allow_none=True)
    uptime_seconds = ma.fields.Integer(allow_none=True)
    processed = ma.fields.Integer(metadata={"description": "Tasks it received since it started"})
    active = ma.fields.List(ma.fields.Nested(ActiveTaskSchema))


class QueueSchema(ma.Schema):
    """Messages waiting in one queue (-1: the broker did not answer)."""

    name = ma.fields.String()
    depth = ma.fields.Integer()


class TaskOutcomeSchema(ma.Schema):
    """Outcomes of one task name, counted by every worker since the counters began."""

    name = ma.fields.String()
    succeeded = ma.fields.Integer()
    failed = ma.fields.Integer()
    retried = ma.fields.Integer()


class WorkerHealthSchema(ma.Schema):
    """Workers, queues and task outcomes as of ``sampled_at``."""

    sampled_at = ma.fields.DateTime()
    embedded = ma.fields.Boolean(metadata={"description": "Tasks run in the web process"})
    broker = ma.fields.String(metadata={"description": "The broker's kind (redis, amqp, ...)"})
    inspect_error = ma.fields.String(
        allow_none=True, metadata={"description": "Why the workers could not be asked"}
    )
    workers = ma.fields.List(ma.fields.Nested(WorkerSchema))
    queues = ma.fields.List(ma.fields.Nested(QueueSchema))
    tasks = ma.fields.List(ma.fields.Nested(TaskOutcomeSchema))
    flower_url = ma.fields.String(allow_none=True)
