"""Refuse request bodies the API cannot read before any view runs."""

from __future__ import annotations

from flask import Flask, request

from oms.errors import error_response


def register_content_checks(app: Flask) -> None:
    """A body sent to ``/api/`` must be JSON (415) and parse (400); size is capped by
    ``MAX_CONTENT_LENGTH`` (413)."""

    @app.before_request
    def _require_json_body():
        if not request.path.startswith("/api/") or request.method not in {"POST", "PUT", "PATCH"}:
            return None
        if not request.content_length and not request.headers.get("Transfer-Encoding"):
            return None
        if not request.is_json:
            return error_response(
                415,
                "unsupported_media_type",
                "Send the request body as JSON (Content-Type: application/json).",
            )
        if request.get_json(silent=True) is None:
            return error_response(400, "malformed_json", "The request body is not valid JSON.")
        return None
