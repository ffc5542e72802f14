"""Request and response schemas of ``/api/v1/webhooks``. The secret appears only in the
answers of create and rotate-secret."""

from __future__ import annotations

import marshmallow as ma

from oms.event_catalogue import WEBHOOK_TYPES
from oms.pagination import PageQuerySchema, sort_field
from oms.schemas import Boolean, StrictSchema
from oms.webhooks.enums import AttemptOutcome, DeliveryState

_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: The URLs the document offers: http(s), a host name (a last label of two characters or more
#: after a dot), a port, a path without spaces: a part of what ``Url`` accepts, so every URL
#: it matches is accepted, if its host resolves to an allowed address.
URL_PATTERN = (
    rf"^https?://(({_LABEL}\.)+[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]|{_LABEL})"
    r"(:[0-9]{1,5})?(/[!-~]*)?$"
)


class EndpointCreateSchema(StrictSchema):
    """A new endpoint."""

    url = ma.fields.Url(
        required=True,
        schemes={"http", "https"},
        require_tld=False,
        validate=ma.validate.Length(max=2000),
        metadata={"description": "Where deliveries are POSTed", "pattern": URL_PATTERN},
    )
    event_types = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(WEBHOOK_TYPES)),
        required=True,
        validate=ma.validate.Length(min=1, max=len(WEBHOOK_TYPES)),
        metadata={"description": "Types from GET /api/v1/webhooks/event-types"},
    )
    active = Boolean(load_default=True)
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))


class EndpointUpdateSchema(StrictSchema):
    """The fields to change; switching ``active`` on again clears the failure state."""

    url = ma.fields.Url(
        schemes={"http", "https"},
        require_tld=False,
        validate=ma.validate.Length(max=2000),
        metadata={"pattern": URL_PATTERN},
    )
    event_types = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(WEBHOOK_TYPES)),
        validate=ma.validate.Length(min=1, max=len(WEBHOOK_TYPES)),
    )
    active = Boolean()
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))


def endpoint_state(endpoint) -> str:
    """``active``, ``failing`` (active, failing since ``failing_since``), ``disabled`` (switched
    off after failing for a day) or ``inactive`` (switched off by an admin)."""
    if endpoint.active:
        return "failing" if endpoint.failing_since else "active"
    return "disabled" if endpoint.disabled_at else "inactive"


class EndpointSchema(ma.Schema):
    """An endpoint (without its secret)."""

    id = ma.fields.UUID()
    url = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    event_types = ma.fields.List(ma.fields.String())
    active = ma.fields.Boolean()
    state = ma.fields.Function(endpoint_state)
    failing_since = ma.fields.DateTime(allow_none=True)
    disabled_at = ma.fields.DateTime(allow_none=True)
    disabled_reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class EndpointWithSecretSchema(EndpointSchema):
    """An endpoint with its secret: only in the answer that made the secret."""

    secret = ma.fields.String(
        metadata={
            "description": "Signs every delivery (Standard Webhooks: `whsec_` and the base64 "
            "of the key); shown once"
        }
    )


class EndpointListQuerySchema(PageQuerySchema):
    """Arguments of the endpoint list."""

    sort = sort_field(("created_at",), "-created_at")


class AttemptSchema(ma.Schema):
    """One POST of a delivery."""

    number = ma.fields.Integer()
    started_at = ma.fields.DateTime()
    duration_ms = ma.fields.Integer(allow_none=True)
    status_code = ma.fields.Integer(allow_none=True)
    response_excerpt = ma.fields.String(allow_none=True, metadata={"description": "1,000 bytes"})
    error = ma.fields.String(allow_none=True)
    outcome = ma.fields.Enum(AttemptOutcome, by_value=True, allow_none=True)


class DeliverySchema(ma.Schema):
    """One event for one endpoint, with every attempt."""

    id = ma.fields.Integer()
    event_id = ma.fields.String()
    event_type = ma.fields.String()
    state = ma.fields.Enum(DeliveryState, by_value=True)
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.DateTime(allow_none=True)
    delivered_at = ma.fields.DateTime(allow_none=True)
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    resent_from = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()
    payload = ma.fields.Dict()
    attempt_log = ma.fields.List(ma.fields.Nested(AttemptSchema))


class DeliveryListQuerySchema(PageQuerySchema):
    """Arguments of the delivery log."""

    sort = sort_field(("created_at",), "-created_at")


class EventFieldSchema(ma.Schema):
    """One payload field of an event type."""

    name = ma.fields.String()
    description = ma.fields.String()
    optional = ma.fields.Boolean()


class EventTypeSchema(ma.Schema):
    """One catalogue entry."""

    type = ma.fields.String()
    version = ma.fields.Integer()
    summary = ma.fields.String()
    payload_fields = ma.fields.List(
        ma.fields.Nested(EventFieldSchema), attribute="fields", data_key="fields"
    )
    webhook = ma.fields.Boolean()


class EventTypeListSchema(ma.Schema):
    """The catalogue, and the envelope every event carries."""

    envelope = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    items = ma.fields.List(ma.fields.Nested(EventTypeSchema))
