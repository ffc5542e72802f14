"""Request and response schemas of ``/api/v1/ops/problems``."""

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
