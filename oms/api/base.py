"""flask-smorest glue: the Api whose errors use our envelope, and the shared schema bases."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Stable machine-readable error code"})
    message = ma.fields.String()
    details = ma.fields.Dict(metadata={"description": "Field-level messages, when any"})
    request_id = ma.fields.String(allow_none=True)


class ErrorSchema(ma.Schema):
    """The error envelope, documented in the OpenAPI spec."""

    error = ma.fields.Nested(ErrorBodySchema)


class Api(SmorestApi):
    """Api whose HTTP errors are rendered by ``oms.errors`` (one envelope everywhere)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # oms.errors.register_error_handlers owns HTTPException; don't install smorest's.
        pass


def validate_not_blank(value: str) -> None:
    """Refuse a string of only whitespace."""
    if not value.strip():
        raise ma.ValidationError("Must not be blank.")


class StrictSchema(ma.Schema):
    """Request schemas refuse unknown fields (422), so mass assignment is never silent."""

    class Meta:
        unknown = ma.RAISE


class Blueprint(SmorestBlueprint):
    """Blueprint whose argument parser lets each schema decide about unknown fields
    (webargs would otherwise silently drop unknown query arguments)."""

    ARGUMENTS_PARSER = FlaskParser(unknown=None)
