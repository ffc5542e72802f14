"""``/api/v1/reports/analytics``: the admin dashboard's figures (admins only)."""

from __future__ import annotations

import marshmallow as ma

from oms.analytics import service
from oms.auth.access import require_role
from oms.auth.enums import UserRole
from oms.openapi import Blueprint
from oms.schemas import StrictSchema

blp = Blueprint("analytics", __name__, description="Order analytics (admins only)")


class AnalyticsQuerySchema(StrictSchema):
    """The period the charts cover: ``days`` (default 30), or ``from`` and ``to``."""

    days = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=service.MAX_DAYS),
        metadata={"description": "The period: this many UTC days, today included (default 30)"},
    )
    from_ = ma.fields.Date(
        data_key="from",
        metadata={"description": "First UTC day of a range (YYYY-MM-DD), today or earlier"},
    )
    to = ma.fields.Date(
        metadata={
            "description": f"Last UTC day of the range, on or after from, at most "
            f"{service.MAX_DAYS} days in all"
        },
    )


class DaySchema(ma.Schema):
    """Orders and revenue of one day."""

    date = ma.fields.String()
    orders = ma.fields.Integer()
    revenue = ma.fields.String(metadata={"description": "Decimal string"})


class DurationSchema(ma.Schema):
    """How long orders took from placed to delivered."""

    orders = ma.fields.Integer(metadata={"description": "Orders delivered in the period"})
    average_seconds = ma.fields.Float(allow_none=True)
    min_seconds = ma.fields.Float(allow_none=True)
    max_seconds = ma.fields.Float(allow_none=True)


class TopProductSchema(ma.Schema):
    """A best-selling product of the period."""

    product_id = ma.fields.String()
    name = ma.fields.String()
    units = ma.fields.Integer()
    revenue = ma.fields.String()
    orders = ma.fields.Integer()


class LowStockSchema(ma.Schema):
    """A product at or below the low-stock threshold."""

    product_id = ma.fields.String()
    name = ma.fields.String()
    available = ma.fields.Integer()
    inventory_count = ma.fields.Integer()
    reserved_count = ma.fields.Integer()


class TotalsSchema(ma.Schema):
    """The period's totals."""

    orders = ma.fields.Integer()
    revenue = ma.fields.String()
    average_order_value = ma.fields.String()


class PreviousPeriodSchema(ma.Schema):
    """The period of the same length just before, for comparison."""

    from_ = ma.fields.String(data_key="from", attribute="from")
    to = ma.fields.String()
    totals = ma.fields.Nested(TotalsSchema)
    per_day = ma.fields.List(ma.fields.Nested(DaySchema))


class ChangeSchema(ma.Schema):
    """Percent change of each total from the previous period (null when it had none)."""

    orders = ma.fields.Float(allow_none=True)
    revenue = ma.fields.Float(allow_none=True)
    average_order_value = ma.fields.Float(allow_none=True)


class AnalyticsSchema(ma.Schema):
    """Every figure of the analytics page in one answer."""

    days = ma.fields.Integer()
    from_ = ma.fields.String(data_key="from")
    to = ma.fields.String()
    totals = ma.fields.Nested(TotalsSchema)
    previous = ma.fields.Nested(PreviousPeriodSchema)
    change = ma.fields.Nested(ChangeSchema)
    first_order_date = ma.fields.String(
        allow_none=True, metadata={"description": "UTC day of the first order ever, or null"}
    )
    per_day = ma.fields.List(ma.fields.Nested(DaySchema))
    by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    placed_to_delivered = ma.fields.Nested(DurationSchema)
    top_products = ma.fields.List(ma.fields.Nested(TopProductSchema))
    low_stock = ma.fields.List(ma.fields.Nested(LowStockSchema))
    low_stock_threshold = ma.fields.Integer()


@blp.route("", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.arguments(AnalyticsQuerySchema, location="query")
@blp.response(200, AnalyticsSchema)
def analytics(args):
    """Orders and revenue per day, orders by status, time from placed to delivered, top
    products and low stock, over the last `days` days (default 30) or the UTC days `from` to
    `to` (inclusive, at most 366), with the previous period of the same length (`previous`,
    `change` in percent). A reversed, half-given or too long range is a 422 naming it."""
    figures = service.summary(days=args.get("days"), start=args.get("from_"), end=args.get("to"))
    return {**figures, "from_": figures["from"]}
