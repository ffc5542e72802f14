"""The API document as a contract on every response the test suite sees.

:class:`Contract` finds the documented operation of a request (method and path template) and
checks the response against it: the status must be documented, the content type must be the
documented one, and a JSON body must validate against the documented schema (OpenAPI 3.0
rules, formats included, through openapi-schema-validator). A request that matches no
operation (an unknown path, a path parameter that is not a UUID, a method the path does not
have) must answer with the error envelope. Paths outside ``/api/`` are not API responses.

tests/conftest.py installs it on every Flask test client (``ContractClient``) and the
integration helpers (``tests/integration/conftest.py``) call it for real HTTP, so every test
checks the document for free; a test that breaks the app on purpose says so with
``@pytest.mark.off_contract(reason)``.
"""

from __future__ import annotations

import json
import re
import uuid
import weakref
from dataclasses import dataclass

from flask.testing import FlaskClient
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

# Not operations of the API: the document itself and the docs page.
UNCHECKED_PREFIXES = ("/api/v1/openapi.json", "/api/v1/docs")
UNCHECKED_METHODS = frozenset({"HEAD", "OPTIONS"})
ERROR_REF = {"$ref": "#/components/schemas/Error"}


class ContractError(AssertionError):
    """A response that the API document does not describe."""


@dataclass(frozen=True)
class _Route:
    template: str
    pattern: re.Pattern
    uuid_params: frozenset[str]
    operations: dict


class Contract:
    """The operations of one OpenAPI document, and the check of a response against them."""

    def __init__(self, spec: dict):
        self.spec = spec
        self._components = spec.get("components", {})
        routes = []
        for template, ops in spec["paths"].items():
            names = re.findall(r"{([^}]+)}", template)
            regex = "^" + re.sub(r"\\{([^}]+)\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            uuid_params = set()
            for op in ops.values():
                if not isinstance(op, dict):
                    continue
                for param in op.get("parameters", []) + ops.get("parameters", []):
                    if (
                        param.get("in") == "path"
                        and param.get("schema", {}).get("format") == "uuid"
                    ):
                        uuid_params.add(param["name"])
            routes.append(
                _Route(
                    template,
                    re.compile(regex),
                    frozenset(uuid_params & set(names)),
                    {m.upper(): op for m, op in ops.items() if m != "parameters"},
                )
            )
        # literal paths before templated ones (/orders/export before /orders/{id})
        self._routes = sorted(routes, key=lambda r: r.template.count("{"))
        self._validators: dict[str, OAS30ReadValidator] = {}

    def operation(self, method: str, path: str) -> tuple[str, dict] | None:
        """The documented (template, operation) of a request, or None."""
        for route in self._routes:
            match = route.pattern.match(path)
            if match is None or not _uuids(match, route.uuid_params):
                continue
            op = route.operations.get(method.upper())
            return (route.template, op) if op is not None else None
        return None

    def problems(
        self, method: str, path: str, status: int, content_type: str | None, body: bytes | None
    ) -> list[str]:
        """What in this response the document does not say (empty: it conforms); a body of
        None (a stream) is not checked."""
        if not path.startswith("/api/") or path.startswith(UNCHECKED_PREFIXES):
            return []
        if method.upper() in UNCHECKED_METHODS:
            return []
        found = self.operation(method, path)
        if found is None:  # no such operation: a routing error, in the envelope
            if status < 400:
                return [f"{method} {path} is not documented, yet answered {status}"]
            return self._body_problems(ERROR_REF, content_type, body, "application/json")
        template, op = found
        where = f"{method.upper()} {template} -> {status}"
        response = op["responses"].get(str(status)) or op["responses"].get("default")
        if response is None:
            documented = ", ".join(sorted(op["responses"]))
            return [f"{where}: status not documented (documented: {documented})"]
        content = response.get("content")
        if not content:
            if body is not None and body.strip():
                return [f"{where}: documented without a body, but one came ({body[:200]!r})"]
            return []
        media = (content_type or "").split(";")[0].strip()
        if media not in content:
            return [f"{where}: content type {content_type!r} is not one of {sorted(content)}"]
        schema = content[media].get("schema")
        if schema is None or media != "application/json":
            return []
        return [f"{where}: {p}" for p in self._body_problems(schema, content_type, body, media)]

    def _body_problems(
        self, schema: dict, content_type: str | None, body: bytes | None, media: str
    ) -> list[str]:
        if (content_type or "").split(";")[0].strip() != media:
            return [f"content type {content_type!r}, expected {media}"]
        if body is None:
            return []
        try:
            data = json.loads(body)
        except ValueError:
            return [f"body is not JSON: {body[:200]!r}"]
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            root = {"allOf": [schema], "components": self._components}
            validator = OAS30ReadValidator(root, format_checker=oas30_format_checker)
            self._validators[key] = validator
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '<body>'}: {error.message}"
            for error in validator.iter_errors(data)
        ][:10]

    def check(
        self, method: str, path: str, status: int, content_type: str | None, body: bytes | None
    ) -> None:
        """Raise :class:`ContractError` when the response does not conform."""
        problems = self.problems(method, path, status, content_type, body)
        if problems:
            raise ContractError(
                "Response does not match the API document (oms/openapi.py, the schemas):\n  "
                + "\n  ".join(problems)
                + f"\n  body: {(body or b'')[:500]!r}"
            )


def _uuids(match: re.Match, names: frozenset[str]) -> bool:
    """Whether the path parameters declared as UUIDs are UUIDs (Flask's routes say uuid:)."""
    for name in names:
        try:
            uuid.UUID(match.group(name))
        except ValueError:
            return False
    return True


# -- the hook ---------------------------------------------------------------------------------

_CONTRACTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Set by tests/conftest.py for a test marked off_contract: its responses are not checked.
state = {"enabled": True}


def contract_of(app) -> Contract:
    """The contract of ``app``'s own document (fetched once per app)."""
    contract = _CONTRACTS.get(app)
    if contract is None:
        spec = FlaskClient(app).get("/api/v1/openapi.json").get_json()
        contract = _CONTRACTS[app] = Contract(spec)
    return contract


class ContractClient(FlaskClient):
    """A Flask test client that checks every API response against the app's document."""

    def open(self, *args, **kwargs):
        """Send the request as FlaskClient does, then check the response (a streamed body is
        the test's to read: only its status and content type are checked)."""
        response = super().open(*args, **kwargs)
        if state["enabled"]:
            request = response.request
            contract_of(self.application).check(
                request.method,
                request.path,
                response.status_code,
                response.content_type,
                None if response.is_streamed else response.get_data(),
            )
        return response
