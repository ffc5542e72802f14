"""Swagger UI's static files for ``/api/v1/docs``, from the swagger-ui-bundle package."""

from __future__ import annotations

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from oms.extensions import limiter

blp = Blueprint("docs_assets", __name__)


@blp.get("/api/v1/docs/assets/<path:filename>")
@limiter.exempt
def asset(filename: str):
    """A Swagger UI file, served by the app itself (no CDN)."""
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
