"""Request and response schemas of the orders API. Money is a decimal string ("12.50")."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma

from oms.auth.schemas import AddressSchema
from oms.db import MAX_MONEY
from oms.orders import carriers
from oms.orders.enums import OrderStatus
from oms.pagination import PageQuerySchema, sort_field
from oms.schemas import Boolean, Money, QueryBoolean, StrictSchema, validate_not_blank

MAX_LINES = 100
MAX_QUANTITY = 10_000


class UTCDateTime(ma.fields.AwareDateTime):
    """An ISO 8601 timestamp (UTC when it names no offset), handed on in UTC: PostgreSQL takes
    no offset beyond 15:59, and an instant outside the years 1-9999 in UTC is a 422."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError as exc:
            raise ma.ValidationError("Not a valid datetime.") from exc


def money(**kwargs) -> ma.fields.Decimal:
    """A money field: a decimal string with two places ("12.50")."""
    return ma.fields.Decimal(as_string=True, places=2, **kwargs)


class OrderLineInSchema(StrictSchema):
    """One line of a submission: a product and how many."""

    product_id = ma.fields.UUID(required=True)
    quantity = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(min=1, max=MAX_QUANTITY)
    )


class OrderCreateSchema(StrictSchema):
    """``customer_id`` and ``payment_collected`` are for staff; a customer who sends them gets a
    422. Prices, totals, status and ids are never accepted."""

    items = ma.fields.List(
        ma.fields.Nested(OrderLineInSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_LINES),
    )
    shipping_address = ma.fields.Nested(AddressSchema)
    customer_id = ma.fields.UUID()
    payment_collected = Boolean()


class OrderUpdateSchema(StrictSchema):
    """PUT: shipping address, payment_collected (staff), and the lines while pending or placed."""

    shipping_address = ma.fields.Nested(AddressSchema)
    payment_collected = Boolean()
    items = ma.fields.List(
        ma.fields.Nested(OrderLineInSchema), validate=ma.validate.Length(min=1, max=MAX_LINES)
    )

    OPENAPI_EXTRA = {"minProperties": 1}  # (oms.openapi.SchemaExtras)

    @ma.validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Send at least one field to change.", "_schema")


class StatusChangeSchema(StrictSchema):
    """A status command: the status wanted and an optional note; shipping may record the
    ``carrier`` (a code of ``OMS_CARRIERS``) and its ``tracking_number``."""

    # carrier and tracking_number only with status shipped (oms.openapi.SchemaExtras)
    OPENAPI_EXTRA = {
        "anyOf": [
            {"properties": {"status": {"enum": [OrderStatus.SHIPPED.value]}}},
            {"not": {"anyOf": [{"required": ["carrier"]}, {"required": ["tracking_number"]}]}},
        ]
    }

    status = ma.fields.Enum(OrderStatus, by_value=True, required=True)
    notes = ma.fields.String(validate=ma.validate.Length(max=1000), load_default=None)
    carrier = ma.fields.String(
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "A carrier code of OMS_CARRIERS; only with status shipped"},
    )
    tracking_number = ma.fields.String(
        validate=[ma.validate.Length(min=1, max=100), validate_not_blank],
        metadata={"description": "The carrier's parcel number; only with status shipped"},
    )

    @ma.validates_schema
    def _shipment_only_when_shipping(self, data, **kwargs):
        if data.get("status") == OrderStatus.SHIPPED:
            return
        extra = [name for name in ("carrier", "tracking_number") if name in data]
        if extra:
            raise ma.ValidationError({name: ["Only when the status is shipped."] for name in extra})


class NoteCreateSchema(StrictSchema):
    """An internal note on an order (staff)."""

    body = ma.fields.String(
        required=True, validate=[ma.validate.Length(min=1, max=2000), validate_not_blank]
    )


class BulkStatusChangeSchema(StatusChangeSchema):
    """One status command for many orders (at most ``actions.MAX_BULK_ORDERS`` distinct ids,
    checked by the use case). No carrier or tracking number: those name one parcel, so they
    are given per order (``PATCH /orders/:id/status``) and refused here as unknown fields."""

    class Meta(StatusChangeSchema.Meta):
        exclude = ("carrier", "tracking_number")

    order_ids = ma.fields.List(ma.fields.UUID(), required=True, validate=ma.validate.Length(min=1))


class BulkErrorSchema(ma.Schema):
    """Why one order of a bulk command was refused: the error envelope's code and words."""

    code = ma.fields.String()
    message = ma.fields.String()


class BulkResultSchema(ma.Schema):
    """One order's outcome: ``ok`` with its new ``status``, or not with the ``error``."""

    order_id = ma.fields.UUID()
    ok = ma.fields.Boolean()
    status = ma.fields.Enum(OrderStatus, by_value=True)
    error = ma.fields.Nested(BulkErrorSchema)


class BulkStatusResultSchema(ma.Schema):
    """Every distinct order of the command, in the order first named."""

    results = ma.fields.List(ma.fields.Nested(BulkResultSchema))


class OrderListQuerySchema(PageQuerySchema):
    """Filters, search and sort of the order list."""

    status = ma.fields.List(ma.fields.Enum(OrderStatus, by_value=True))
    customer_id = ma.fields.UUID()
    product_id = ma.fields.UUID()
    created_from = UTCDateTime(default_timezone=UTC)
    created_to = UTCDateTime(default_timezone=UTC)
    total_min = Money(maximum=MAX_MONEY)
    total_max = Money(maximum=MAX_MONEY)
    payment_collected: ma.fields.Boolean = QueryBoolean()
    q = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    id = ma.fields.List(
        ma.fields.UUID(),
        validate=ma.validate.Length(max=500),
        metadata={"description": "Only these orders (a selection; repeatable, at most 500)"},
    )
    problem: ma.fields.Boolean = QueryBoolean(
        metadata={"description": "Rejected, or pending for longer than 10 minutes (or not)"}
    )
    sort = sort_field(("created_at", "total_amount", "number", "status_updated_at"), "-created_at")


class CustomerBriefSchema(ma.Schema):
    """Who an order is for."""

    id = ma.fields.UUID()
    email = ma.fields.String()
    name = ma.fields.String(attribute="full_name")


class OrderLineSchema(ma.Schema):
    """One line of an order, priced when it was ordered."""

    id = ma.fields.UUID()
    product_id = ma.fields.UUID()
    product_name = ma.fields.Function(lambda item: item.product.name)
    quantity = ma.fields.Integer()
    unit_price = money()
    total_price = money()


class ActorSchema(ma.Schema):
    """Who did something, as a page shows them: name (or email) and role."""

    id = ma.fields.UUID()
    name = ma.fields.Function(lambda user: user.full_name or user.email)
    role = ma.fields.Function(lambda user: user.role.value)


class HistorySchema(ma.Schema):
    """One step of an order's status history; ``changed_by`` is null for the system (the
    reservation worker) and for an account since removed."""

    old_status = ma.fields.Enum(OrderStatus, by_value=True, allow_none=True)
    new_status = ma.fields.Enum(OrderStatus, by_value=True)
    changed_by_user_id = ma.fields.UUID(allow_none=True)
    changed_by = ma.fields.Nested(ActorSchema, allow_none=True)
    notes = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class NoteSchema(ma.Schema):
    """An internal note on an order, for staff: who wrote it and when."""

    id = ma.fields.UUID()
    body = ma.fields.String()
    author = ma.fields.Nested(ActorSchema, allow_none=True)
    created_at = ma.fields.DateTime()


class OrderSchema(ma.Schema):
    """An order with its lines; ``allowed_statuses`` are the next statuses the caller may set.
    ``carrier`` and ``tracking_number`` are what shipping recorded (null before, or when not
    given); ``tracking_url`` is the carrier's tracking page for the number."""

    id = ma.fields.UUID()
    number = ma.fields.String()
    status = ma.fields.Enum(OrderStatus, by_value=True)
    customer = ma.fields.Nested(CustomerBriefSchema)
    customer_id = ma.fields.UUID()
    created_by_user_id = ma.fields.UUID(allow_none=True)
    payment_collected = ma.fields.Boolean()
    total_amount = money()
    item_count = ma.fields.Function(lambda order: sum(i.quantity for i in order.items))
    shipping_address = ma.fields.Dict()
    items = ma.fields.List(ma.fields.Nested(OrderLineSchema))
    allowed_statuses = ma.fields.List(ma.fields.String())
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    status_updated_at = ma.fields.DateTime()
    status_updated_by = ma.fields.UUID(allow_none=True)
    carrier = ma.fields.String(allow_none=True)
    carrier_name = ma.fields.Function(lambda order: carriers.name_of(order.carrier))
    tracking_number = ma.fields.String(allow_none=True)
    tracking_url = ma.fields.Function(
        lambda order: carriers.tracking_url(order.carrier, order.tracking_number)
    )


class OrderDetailSchema(OrderSchema):
    """An order with its status history (oldest first) and, for staff only, its internal
    ``notes`` (oldest first); the field is absent for customers."""

    history = ma.fields.List(ma.fields.Nested(HistorySchema))
    notes = ma.fields.List(ma.fields.Nested(NoteSchema), attribute="staff_notes")
