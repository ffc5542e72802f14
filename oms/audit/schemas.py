"""Request and response schemas of ``GET /api/v1/audit``."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma

from oms.audit.service import ENTITY_TYPES
from oms.orders.schemas import UTCDateTime
from oms.pagination import PageQuerySchema


class AuditQuerySchema(PageQuerySchema):
    """Filters of the audit log; ``created_from`` inclusive, ``created_to`` exclusive."""

    entity_type = ma.fields.String(validate=ma.validate.OneOf(ENTITY_TYPES))
    entity_id = ma.fields.UUID()
    actor_id = ma.fields.UUID()
    action = ma.fields.String(validate=ma.validate.Length(max=60))
    created_from = UTCDateTime(default_timezone=UTC)
    created_to = UTCDateTime(default_timezone=UTC)
    sort = ma.fields.String(load_default="-at", validate=ma.validate.OneOf(["at", "-at"]))


class AuditEntrySchema(ma.Schema):
    """One entry: who (``actor_id``, ``actor_email``; null for the system or an anonymous
    attempt), when, what, the changed fields before and after, and the request."""

    id = ma.fields.UUID()
    at = ma.fields.DateTime()
    actor_id = ma.fields.UUID(allow_none=True)
    actor_email = ma.fields.String(allow_none=True)
    action = ma.fields.String()
    entity_type = ma.fields.String()
    entity_id = ma.fields.UUID(allow_none=True)
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)
    request_id = ma.fields.String(allow_none=True)
    remote_addr = ma.fields.String(allow_none=True)
