"""Refuse requests the API cannot read safely before any view runs, and set the security
headers every response carries."""

from __future__ import annotations

import re

from flask import Flask, request

from oms.errors import error_response

# A NUL can be stored by no PostgreSQL text column; psycopg2 refuses it outright.
_JSON_NUL = re.compile(rb"\\u0000", re.IGNORECASE)


def _has_nul() -> bool:
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        return True
    data = request.get_data(cache=True)
    return b"\x00" in data or bool(_JSON_NUL.search(data))


def register_content_checks(app: Flask) -> None:
    """A body sent to ``/api/`` must be JSON (415) and parse (400, also for absurd nesting);
    size is capped by ``MAX_CONTENT_LENGTH`` (413); NUL characters are a 422 anywhere."""

    @app.before_request
    def _check_request():
        if not request.path.startswith("/api/"):
            return None
        if request.method in {"POST", "PUT", "PATCH"} and (
            request.content_length or request.headers.get("Transfer-Encoding")
        ):
            if not request.is_json:
                return error_response(
                    415,
                    "unsupported_media_type",
                    "Send the request body as JSON (Content-Type: application/json).",
                )
            try:
                parsed = request.get_json(silent=True)
            except RecursionError:
                parsed = None
            if parsed is None:
                return error_response(400, "malformed_json", "The request body is not valid JSON.")
        if _has_nul():
            return error_response(
                422,
                "validation_error",
                "Text may not contain NUL characters.",
                {"_request": ["NUL"]},
            )
        return None

    @app.after_request
    def _security_headers(response):
        """No framing (clickjacking), no MIME sniffing, no full URLs leaked to other sites."""
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
