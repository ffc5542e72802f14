"""Schema bases every domain's request and response schemas build on (below the domains and
the API: a domain's ``schemas.py`` imports this, never ``oms.api``)."""

from __future__ import annotations

import re
from decimal import Decimal

import marshmallow as ma

from oms import iso_codes

CENT = Decimal("0.01")


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


class Boolean(ma.fields.Boolean):
    """A JSON ``true`` or ``false`` in a body: ``"yes"``, ``1`` or ``"true"`` are not booleans
    (marshmallow's Boolean takes them all)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        raise self.make_error("invalid")


class QueryBoolean(ma.fields.Boolean):
    """A boolean query argument: the word ``true`` or ``false`` (in any case: Python clients
    write ``True``), as the document's booleans are written in a URL; not ``yes`` or ``1``."""

    def _deserialize(self, value, attr, data, **kwargs):
        words = {"true": True, "false": False}
        if isinstance(value, str) and value.lower() in words:
            return words[value.lower()]
        raise self.make_error("invalid")


class Money(ma.fields.Decimal):
    """An amount of money read exactly, from 0 to ``maximum`` (``oms.db.MAX_MONEY`` for a
    NUMERIC(12, 2) column): a decimal string of ASCII digits
    with at most two decimals (``"12.50"``), or a JSON number with at most two decimals.

    Never through a float: request bodies parse numbers as Decimal (oms.api.content), so
    ``1E-999999999`` is refused, not stored as 0.00. Strings are matched before ``Decimal()``
    reads them, which would take ``"١٢"`` (other scripts' digits), ``"1_000"`` and ``" 12"``."""

    def __init__(self, *, maximum: Decimal, **kwargs):
        # No ``places``: it would round 12.345 silently instead of refusing it.
        super().__init__(**kwargs)
        self.maximum = maximum
        whole_digits = len(str(int(maximum)))
        self.pattern = rf"^[0-9]{{1,{whole_digits}}}(\.[0-9]{{1,2}})?$"

    def _validated(self, value):
        if isinstance(value, str):
            if not re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", value):
                raise ma.ValidationError(
                    'Use a decimal string of digits with at most 2 decimal places ("12.50").'
                )
            amount = Decimal(value)
        elif isinstance(value, int | Decimal) and not isinstance(value, bool):
            amount = Decimal(value)
        else:  # a float never arrives from JSON; booleans and others are not amounts
            raise self.make_error("invalid")
        if not amount.is_finite():
            raise self.make_error("special")
        if amount < 0:
            raise ma.ValidationError("Must be 0 or more.")
        if amount > self.maximum:
            raise ma.ValidationError(f"Must be at most {self.maximum}.")
        if amount != amount.quantize(CENT):
            raise ma.ValidationError("Use at most 2 decimal places.")
        return amount.quantize(CENT)  # 1E+2 is 100.00, written back as such


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
