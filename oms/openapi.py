"""flask-smorest glue: the Api whose errors use our envelope, and the Blueprint every
``/api/v1`` module declares its routes on."""

from __future__ import annotations

from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser

from oms.schemas import ErrorSchema


class Api(SmorestApi):
    """Api whose HTTP errors are rendered by ``oms.errors`` (one envelope everywhere)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # oms.errors.register_error_handlers owns HTTPException; don't install smorest's.
        pass


class Blueprint(SmorestBlueprint):
    """Blueprint whose argument parser lets each schema decide about unknown fields
    (webargs would otherwise silently drop unknown query arguments)."""

    ARGUMENTS_PARSER = FlaskParser(unknown=None)
