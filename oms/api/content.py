"""Refuse requests the API cannot read safely before any view runs (the security headers of
every response are in ``oms.headers``)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider

from oms.errors import error_response

# Text PostgreSQL cannot hold or read back: a NUL (no text column stores one; psycopg2 refuses
# it) and a lone UTF-16 surrogate (not a character: it cannot be encoded as UTF-8, and a json
# column holding its escape breaks PostgreSQL's JSON functions, so every export).
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
BAD_TEXT_MESSAGE = "Not valid text: NUL characters and lone UTF-16 surrogates are refused."


def _put(errors: dict, path: tuple[str, ...], message: str) -> None:
    node: Any = errors
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):  # a clash with a message already there: keep that
            return
    node.setdefault(path[-1], [message])


def _bad_text(body: Any) -> dict:
    """Where ``body`` (parsed JSON) holds text that is not valid Unicode, shaped as marshmallow
    shapes field errors (``{"shipping_address": {"line1": [...]}}``, list items by index); a bad
    key is reported on its object (``_schema``). Walked without recursion: any nesting that
    parsed is walked."""
    errors: dict = {}
    stack: list[tuple[tuple[str, ...], Any]] = [((), body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _BAD_TEXT.search(value):
                _put(errors, path or ("_schema",), BAD_TEXT_MESSAGE)
        elif isinstance(value, dict):
            for key, item in value.items():
                if _BAD_TEXT.search(key):
                    _put(errors, (*path, "_schema"), BAD_TEXT_MESSAGE)
                else:
                    stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, str(index)), item) for index, item in enumerate(value))
    return errors


def _bad_request_text(body: Any) -> dict:
    """Field errors for bad text in the query arguments (by name) or the JSON body."""
    errors = _bad_text(body)
    for name, value in request.args.items(multi=True):
        if _BAD_TEXT.search(name) or _BAD_TEXT.search(value):
            errors.setdefault(name if not _BAD_TEXT.search(name) else "_schema", [BAD_TEXT_MESSAGE])
    if not errors and body is None and b"\x00" in request.get_data(cache=True):
        errors["_schema"] = [BAD_TEXT_MESSAGE]  # a body not read as JSON (a GET's, say)
    return errors


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class ExactJSONProvider(DefaultJSONProvider):
    """The app's JSON (``request.get_json`` uses it): numbers with a fraction or exponent are
    read as Decimal, never a float (``1E-999999999`` stays what it says, so a money field can
    refuse it); NaN and Infinity, which are not JSON, are refused."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse ``s`` with exact numbers."""
        kwargs.setdefault("parse_float", Decimal)
        kwargs.setdefault("parse_constant", _no_constant)
        return json.loads(s, **kwargs)


# The longest URL (path and query) the API reads; gunicorn is started with
# --limit-request-line 8190 so that this check, with its envelope, is the one that answers.
MAX_URL_BYTES = 8000


def register_content_checks(app: Flask) -> None:
    """A body sent to ``/api/`` must be JSON (415) and parse (400, also for absurd nesting);
    size is capped by ``MAX_CONTENT_LENGTH`` (413); text that is not valid Unicode (NUL, lone
    surrogates) in the query or anywhere in the body is a 422 naming the field. Bodies are
    read with :class:`ExactJSONProvider`."""
    app.json = ExactJSONProvider(app)

    @app.before_request
    def _check_request():
        if not request.path.startswith("/api/"):
            return None
        if len(request.full_path.encode()) > MAX_URL_BYTES:
            return error_response(
                414,
                "uri_too_long",
                f"The URL is longer than {MAX_URL_BYTES} bytes; send fewer or shorter filters.",
            )
        parsed = None
        if request.method in {"POST", "PUT", "PATCH"} and (
            request.content_length or request.headers.get("Transfer-Encoding")
        ):
            if not request.is_json:
                return error_response(
                    415,
                    "unsupported_media_type",
                    "Send the request body as JSON (Content-Type: application/json).",
                )
            # A chunked body is cut at MAX_CONTENT_LENGTH without a word: read on past the cut,
            # which raises the 413 when there was more (get_json would call it "not JSON").
            data = request.get_data(cache=True)
            limit = request.max_content_length
            if request.content_length is None and limit is not None and len(data) >= limit:
                request.stream.read(1)
            try:
                parsed = request.get_json(silent=True)
            except RecursionError:
                parsed = None
            if parsed is None:
                return error_response(400, "malformed_json", "The request body is not valid JSON.")
        if bad := _bad_request_text(parsed):
            return error_response(
                422,
                "validation_error",
                "Text must be valid Unicode: no NUL characters, no lone UTF-16 surrogates.",
                bad,
            )
        return None
