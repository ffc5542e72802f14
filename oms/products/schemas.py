"""Request and response schemas of the products API.

Customers get :class:`PublicProductSchema` (no stock counts); staff and admins get
:class:`ProductSchema`. Money is always a decimal string with two places (``"12.50"``).
"""

from __future__ import annotations

import marshmallow as ma

from oms.db import MAX_MONEY
from oms.pagination import PageQuerySchema, sort_field
from oms.products import service
from oms.schemas import Boolean, Money, QueryBoolean, StrictSchema, validate_not_blank

# products.price is NUMERIC(12, 2) (oms.schemas.Money); inventory_count is a 32-bit INTEGER.
MAX_STOCK = 2**31 - 1


def _name_field(**kwargs) -> ma.fields.String:
    return ma.fields.String(validate=[ma.validate.Length(max=200), validate_not_blank], **kwargs)


def _price_field(**kwargs) -> Money:
    return Money(
        maximum=MAX_MONEY,
        metadata={"description": 'Decimal string or number, 2 places at most ("12.50")'},
        **kwargs,
    )


def _stock_field(**kwargs) -> ma.fields.Integer:
    return ma.fields.Integer(
        strict=True, validate=ma.validate.Range(min=0, max=MAX_STOCK), **kwargs
    )


class ProductCreateSchema(StrictSchema):
    """A new product."""

    name = _name_field(required=True)
    description = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=5000)
    )
    price = _price_field(required=True)
    inventory_count = _stock_field(load_default=0)
    active = Boolean(load_default=True)


class ProductUpdateSchema(StrictSchema):
    """Every field optional; ``description`` may be null to clear it."""

    # inventory_count or add_units, never both (oms.openapi.SchemaExtras)
    OPENAPI_EXTRA = {"not": {"required": ["inventory_count", "add_units"]}}

    name = _name_field()
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=5000))
    price = _price_field()
    inventory_count = _stock_field()
    add_units = ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(min=1, max=MAX_STOCK),
        metadata={"description": "Restock: units added to the current count, under the row lock"},
    )
    active = Boolean()

    @ma.validates_schema
    def _one_way_to_set_stock(self, data, **kwargs):
        if "inventory_count" in data and "add_units" in data:
            raise ma.ValidationError("Send inventory_count or add_units, not both.", "add_units")


class PublicProductSchema(ma.Schema):
    """What customers see: no stock counts, only how many units can still be ordered."""

    id = ma.fields.UUID()
    name = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    price = ma.fields.Decimal(as_string=True, places=2)
    available = ma.fields.Integer()
    active = ma.fields.Boolean()


class ProductSchema(PublicProductSchema):
    """What staff and admins see: every field, with the stock counts and the low-stock flag."""

    inventory_count = ma.fields.Integer()
    reserved_count = ma.fields.Integer()
    low_stock = ma.fields.Function(service.is_low_stock)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ProductListQuerySchema(PageQuerySchema):
    """Filters, search and sort of the product list."""

    q = ma.fields.String(validate=ma.validate.Length(max=200))
    active = QueryBoolean()
    low_stock = QueryBoolean()
    sort = sort_field(("name", "price", "created_at"), "name")
