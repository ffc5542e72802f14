"""flask-smorest glue: the Api whose errors use our envelope, and the Blueprint every
``/api/v1`` module declares its routes on.

The document must say what the API really does, without every route repeating it:

- **Errors**: each operation gets the error responses that can happen to it, with the envelope
  and an example, from what the route is (its method, body, path parameters, access rule):
  :func:`error_statuses`. A route names an extra one, or better words for one, with
  ``@blp.alt_response(409, description="...")`` and the envelope is filled in.
- **Security**: from ``oms.auth.access.require_role`` (which records its rule on the view):
  a bearer token or the browser's cookie (with the CSRF header on changes); a route without
  it is public (``security: []``); ``refresh=True`` routes take the refresh token.
- **Money**: a ``Decimal(as_string=True)`` is served as a string, so it is documented as a
  decimal string; Decimal range bounds are written as JSON numbers.
"""

from __future__ import annotations

import decimal
import re
from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser, is_json_request

from oms import iso_codes
from oms.schemas import CountryCode, ErrorSchema, Money, validate_not_blank

WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
MONEY_PATTERN = r"^-?[0-9]+(\.[0-9]{1,2})?$"

# Every error the API answers, with the words and an example of its envelope.
ERRORS: dict[int, tuple[str, str]] = {
    400: ("malformed_json", "The request body is not valid JSON."),
    401: (
        "authentication_error",
        "No valid token: missing, invalid, expired or revoked, or the account is inactive.",
    ),
    403: ("authorization_error", "Your role may not do this."),
    404: ("not_found", "No such resource (or it is not yours to see)."),
    409: (
        "conflict",
        "A business rule refuses the change (stock, lifecycle, a taken email, ...), or a "
        "conflicting change kept colliding (`busy`, with `Retry-After`): retry.",
    ),
    413: ("payload_too_large", "The body is larger than the limit."),
    414: ("uri_too_long", "The URL is longer than the server reads."),
    415: ("unsupported_media_type", "A body that is not `application/json`."),
    422: (
        "validation_error",
        "The body or the query did not validate; `details` names each field. Text anywhere "
        "(body or query) must not hold NUL or a lone UTF-16 surrogate.",
    ),
    429: ("rate_limited", "Too many requests; `Retry-After` says how many seconds to wait."),
    503: (
        "service_unavailable",
        "The database is briefly out of reach; `Retry-After` says when to retry.",
    ),
}
_RETRY_AFTER = {
    "schema": {"type": "integer", "minimum": 0},
    "description": "Seconds to wait before retrying.",
}


def error_statuses(*, method: str, access: dict | None, has_body: bool, has_path: bool) -> set:
    """The error statuses an operation can answer, from what it is."""
    statuses = {414, 422, 429, 503}  # the URL, bad text in the query, the limits, the database
    if has_body or method in {"post", "put", "patch"}:
        statuses |= {400, 413, 415}
    if access is not None:
        statuses.add(401)
        if access["roles_limited"]:
            statuses.add(403)
    if has_path:
        statuses.add(404)
    if method in WRITE_METHODS:
        statuses.add(409)
    return statuses


def error_response(status: int, description: str | None = None) -> dict:
    """The documented response of an error status: the envelope, an example, ``Retry-After``."""
    example_code, words = ERRORS.get(status, ("error", "An error."))
    response: dict[str, Any] = {
        "description": description or words,
        "content": {
            "application/json": {
                "schema": ErrorSchema,
                "example": {
                    "error": {
                        "code": example_code,
                        "message": words,
                        "details": {"email": ["Not a valid email address."]}
                        if status == 422
                        else {},
                        "request_id": "4cdfe8d77e0e470880761f91261274f5",
                    }
                },
            }
        },
    }
    if status in {409, 429, 503}:
        response["headers"] = {"Retry-After": _RETRY_AFTER}
    return response


def security_of(access: dict | None, method: str) -> list:
    """Who may call: nobody needs a token (``[]``), or a bearer token or the cookie."""
    if access is None:
        return []
    cookie = "refreshCookie" if access["refresh"] else "accessCookie"
    browser: dict[str, list] = (
        {cookie: [], "csrfHeader": []} if method in WRITE_METHODS else {cookie: []}
    )
    return [{"bearerAuth": []}, browser]


SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "API clients: `Authorization: Bearer <access_token>` from login (the "
        "refresh token on `/auth/refresh`).",
    },
    "accessCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "access_token_cookie",
        "description": "Browsers: the HttpOnly access cookie set by login. Requests that change "
        "something must also send `X-CSRF-TOKEN` (csrfHeader).",
    },
    "refreshCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "refresh_token_cookie",
        "description": "Browsers: the HttpOnly refresh cookie set by login (path-wide).",
    },
    "csrfHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-TOKEN",
        "description": "Double-submit CSRF: the value of the `csrf_access_token` cookie "
        "(`csrf_refresh_token` for `/auth/refresh`), required with a cookie on POST, PUT, "
        "PATCH and DELETE.",
    },
}


def _number(value: Any) -> Any:
    """A Decimal bound as a JSON number (apispec would write it as a string)."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def decimal2properties(self, field: ma.fields.Field, ret: dict, **kwargs) -> dict:
    """Decimal fields: numeric bounds; one served as a string is a decimal string."""
    if isinstance(field, Money):  # what Money._validated accepts, exactly
        ret.pop("type", None)
        text = {"type": "string", "format": "decimal", "pattern": field.pattern}
        number = {
            "type": "number",
            "minimum": 0,
            "maximum": _number(field.maximum),
            "multipleOf": 0.01,
        }
        return {"anyOf": [number, text]}
    if not isinstance(field, ma.fields.Decimal):
        return {}
    for key in ("minimum", "maximum", "x-minimum", "x-maximum"):
        if key in ret:
            ret[key] = _number(ret[key])
    if field.as_string:  # served as "12.50"
        for key in ("minimum", "maximum"):
            if key in ret:
                ret[f"x-{key}"] = ret.pop(key)
        return {"type": "string", "format": "decimal", "pattern": MONEY_PATTERN}
    # Read from a number or a decimal string alike.
    number = {"type": "number"}
    for key in ("minimum", "maximum"):
        if key in ret:
            number[key] = ret.pop(key)
    ret.pop("type", None)
    return {"anyOf": [number, {"type": "string", "format": "decimal", "pattern": MONEY_PATTERN}]}


# What oms.api.content refuses in any text (a 422): NUL, said by a pattern on every text
# field; and lone UTF-16 surrogates, which no pattern can say to every validator (a Rust or
# Python regex has no surrogates), so the 422 of each operation says it in words.
_TEXT_CHAR = "[^\\u0000]"
TEXT_PATTERN = f"^{_TEXT_CHAR}*$"
# ... and a field that must not be blank holds at least one character that is not a space
# (str.isspace's, which are \s and U+001C-U+001F).
NOT_BLANK_PATTERN = f"^{_TEXT_CHAR}*[^\\s\\u0000\\u001c-\\u001f]{_TEXT_CHAR}*$"


def text2properties(self, field: ma.fields.Field, ret: dict, **kwargs) -> dict:
    """Plain text fields say that NUL and lone surrogates are refused, and, with
    ``validate_not_blank``, that blank is (fields with a format or a pattern of their own
    already exclude them)."""
    if (
        type(field) is ma.fields.String
        and "pattern" not in ret
        and "format" not in ret
        and "enum" not in ret
    ):
        blank_refused = validate_not_blank in getattr(field, "validators", [])
        return {"pattern": NOT_BLANK_PATTERN if blank_refused else TEXT_PATTERN}
    return {}


def nullable2properties(self, field: ma.fields.Field, ret: dict, **kwargs) -> dict:
    """A nested object that may be null is that object or null (apispec writes "any object
    or null" beside it, which lets every unknown field through)."""
    if isinstance(field, ma.fields.Nested) and field.allow_none and "anyOf" in ret:
        ret["anyOf"] = [
            {"type": "object", "nullable": True, "enum": [None]}
            if branch == {"type": "object", "nullable": True}
            else branch
            for branch in ret["anyOf"]
        ]
    return {}


class SchemaExtras(BasePlugin):
    """Rules about a whole object that no single field states (at least one field, two
    fields never together, a field only with a value of another): a schema class writes them
    as JSON Schema in ``OPENAPI_EXTRA`` and its component carries them."""

    def schema_helper(self, name, definition, **kwargs):
        """The schema class's ``OPENAPI_EXTRA``, added to its component."""
        schema = kwargs.get("schema")
        schema_class = schema if isinstance(schema, type) else type(schema)
        return getattr(schema_class, "OPENAPI_EXTRA", None)


def country2properties(self, field: ma.fields.Field, ret: dict, **kwargs) -> dict:
    """A country is one of the ISO 3166-1 alpha-2 codes (either case), not any string."""
    if isinstance(field, CountryCode):
        codes = sorted(code for code, _ in iso_codes.countries())
        return {"enum": [*codes, *(code.lower() for code in codes)]}
    return {}


def document_choices(api: SmorestApi, schema: str, field: str, values: list[str]) -> None:
    """A field whose values a deployment configures (the carrier codes of ``OMS_CARRIERS``):
    this app's document lists them as the field's enum."""
    api.spec.components.schemas[schema]["properties"][field]["enum"] = values


class Api(SmorestApi):
    """Api whose HTTP errors are rendered by ``oms.errors`` (one envelope everywhere) and
    documented per operation by :class:`Blueprint` (no catch-all ``default`` response)."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        # oms.errors.register_error_handlers owns HTTPException; don't install smorest's.
        pass

    def _init_spec(self, **kwargs):
        kwargs["extra_plugins"] = [*(kwargs.get("extra_plugins") or ()), SchemaExtras()]
        super()._init_spec(**kwargs)
        self.ma_plugin.converter.add_attribute_function(country2properties)
        self.ma_plugin.converter.add_attribute_function(decimal2properties)
        self.ma_plugin.converter.add_attribute_function(text2properties)
        self.ma_plugin.converter.add_attribute_function(nullable2properties)
        for name, scheme in SECURITY_SCHEMES.items():
            self.spec.components.security_scheme(name, scheme)


def _is_error_schema(schema: Any) -> bool:
    return schema is ErrorSchema or isinstance(schema, ErrorSchema)


_PATH_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class _Parser(FlaskParser):
    """Reads the JSON body as the request does (``oms.api.content.ExactJSONProvider``: numbers
    as Decimal), not with webargs' own float-reading ``json.loads``."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return ma.missing
        return req.get_json(force=True)

    def load_json(self, req, schema):
        """The JSON body; a route that takes one requires it (the document says so): a POST
        without a body is not "every field left out", so ``{}`` must be sent for that."""
        data = super().load_json(req, schema)
        if data is ma.missing:
            raise ma.ValidationError(
                {"_schema": ["Send a JSON body: an object, {} when no field is wanted."]}
            )
        return data


class Blueprint(SmorestBlueprint):
    """Blueprint whose argument parser lets each schema decide about unknown fields
    (webargs would otherwise silently drop unknown query arguments), and whose operations
    are documented with their security and error responses (see the module docstring)."""

    ARGUMENTS_PARSER = _Parser(unknown=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_oms_doc)

    def add_url_rule(self, rule, endpoint=None, view_func=None, *args, **kwargs):
        """Record the route's access rule and path parameters where the doc callbacks see it."""
        if view_func is not None and not isinstance(view_func, type):
            view_func._apidoc = {
                **getattr(view_func, "_apidoc", {}),
                "oms": {
                    "access": getattr(view_func, "access_rule", None),
                    "has_path": bool(_PATH_PARAM.search(rule)),
                },
            }
        return super().add_url_rule(rule, endpoint, view_func, *args, **kwargs)

    @staticmethod
    def _prepare_oms_doc(doc, doc_info, *, method, **kwargs):
        info = doc_info.get("oms", {})
        access = info.get("access")
        doc["security"] = security_of(access, method)
        responses = doc.setdefault("responses", {})
        statuses = error_statuses(
            method=method,
            access=access,
            has_body="requestBody" in doc,
            has_path=info.get("has_path", False),
        )
        # Error statuses a route named itself (alt_response) keep its words.
        for key in list(responses):
            if str(key) != key:  # smorest keys its own responses by int
                responses[str(key)] = responses.pop(key)
        statuses |= {int(s) for s in responses if s.isdigit() and int(s) >= 400}
        for status in sorted(statuses):
            given = responses.get(str(status))
            given = given if isinstance(given, dict) else {}  # smorest's own are names
            description = given.get("description")
            schema = given.get("content", {}).get("application/json", {}).get("schema")
            if schema is not None and not _is_error_schema(schema):
                continue  # a body of the route's own
            responses[str(status)] = error_response(status, description)
        return doc
