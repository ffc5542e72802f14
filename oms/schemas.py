"""Schema bases every domain's request and response schemas build on (below the domains and
the API: a domain's ``schemas.py`` imports this, never ``oms.api``)."""

from __future__ import annotations

import marshmallow as ma

from oms import iso_codes


def validate_not_blank(value: str) -> None:
    """Refuse a string of only whitespace."""
    if not value.strip():
        raise ma.ValidationError("Must not be blank.")


class CountryCode(ma.fields.String):
    """An ISO 3166-1 alpha-2 country code; lower case is accepted and stored upper case."""

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if not iso_codes.is_country(code):
            raise ma.ValidationError(
                "Not a country: use its ISO 3166-1 alpha-2 code (e.g. NO, DE, GB)."
            )
        return code


class StrictSchema(ma.Schema):
    """Request schemas refuse unknown fields (422), so mass assignment is never silent."""

    class Meta:
        unknown = ma.RAISE


class ErrorBodySchema(ma.Schema):
    """What went wrong: a stable code, words for a person, field details, the request id."""

    code = ma.fields.String(
        required=True, metadata={"description": "Stable machine-readable error code"}
    )
    message = ma.fields.String(required=True, metadata={"description": "Words for a person"})
    details = ma.fields.Dict(
        required=True,
        metadata={"description": "Field-level messages or facts of the refusal; may be empty"},
    )
    request_id = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "X-Request-ID of the request"}
    )


class ErrorSchema(ma.Schema):
    """The error envelope, documented in the OpenAPI spec."""

    error = ma.fields.Nested(ErrorBodySchema, required=True)
