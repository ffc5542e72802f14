"""Request and response schemas of the customers API."""

from __future__ import annotations

import marshmallow as ma

from oms.auth.schemas import AddressSchema
from oms.pagination import PageQuerySchema, sort_field
from oms.schemas import StrictSchema, validate_not_blank


def _email_field(**kwargs) -> ma.fields.Email:
    return ma.fields.Email(validate=ma.validate.Length(max=255), **kwargs)


def _name_field(**kwargs) -> ma.fields.String:
    return ma.fields.String(validate=[ma.validate.Length(max=100), validate_not_blank], **kwargs)


class CustomerCreateSchema(StrictSchema):
    """A new customer record."""

    email = _email_field(required=True)
    first_name = _name_field(required=True)
    last_name = _name_field(required=True)
    phone = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=40))
    address = ma.fields.Nested(AddressSchema, allow_none=True)


class CustomerUpdateSchema(StrictSchema):
    """Every field optional; ``phone`` and ``address`` may be null to clear them."""

    email = _email_field()
    first_name = _name_field()
    last_name = _name_field()
    phone = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=40))
    address = ma.fields.Nested(AddressSchema, allow_none=True)


class CustomerSchema(ma.Schema):
    """A customer as staff see them."""

    id = ma.fields.UUID()
    email = ma.fields.String()
    first_name = ma.fields.String()
    last_name = ma.fields.String()
    phone = ma.fields.String(allow_none=True)
    address = ma.fields.Nested(AddressSchema, allow_none=True)
    user_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class CustomerListQuerySchema(PageQuerySchema):
    """Filters of the customer list."""

    q = ma.fields.String(
        validate=ma.validate.Length(max=200),
        metadata={"description": "Words starting the first or last name, or part of the email"},
    )
    sort = sort_field(("created_at", "last_name", "email"), "-created_at")
