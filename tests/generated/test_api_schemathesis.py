"""Schemathesis over the app's own API document, as a customer, as staff and as an admin.

Every operation of ``/api/v1/openapi.json`` gets generated requests, valid ones and ones that
break the document's input rules (negative mode), sent through the Flask test client to the
real app on PostgreSQL and Redis, with a bearer token from a real login of each role. Checks:

- ``not_a_server_error``: no 5xx, whatever the input;
- ``status_code_conformance``, ``content_type_conformance``, ``response_schema_conformance``:
  the status is documented and the body is the documented schema for it;
- ``negative_data_rejection``: a request the document forbids is refused with a 4xx (the
  promise of docs/SECURITY.md's input rules);
- ``positive_data_acceptance``: a request the document allows is not refused, except with a
  422 naming only inputs the server's state or the caller decide (:data:`STATE_DEPENDENT`).

The test config's rate limits apply (``tests/conftest.py``: 10,000 per minute for every limit,
the limiter itself running on the test Redis), as for every other test: nothing is switched off.
Bounded for ``make test`` (``EXAMPLES`` per operation and role); ``OMS_LONG_FUZZ=1`` runs more
(``OMS_SCHEMATHESIS_EXAMPLES`` sets it exactly). Requests are counted in ``fuzz_stats``.
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config._checks import NegativeDataRejectionConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from oms import create_app
from oms.auth.enums import UserRole
from tests.conftest import make_test_config
from tests.factories import PASSWORD, make_order, make_product, make_user
from tests.generated import fuzz_stats, requests_by_role

# Inputs whose validity no document can state: it depends on the server's state or on who
# calls. A schema-valid request may be a 422 naming only these fields, and nothing else:
STATE_DEPENDENT: dict[tuple[str, str], set[str]] = {
    # a token the server emailed (only it knows which are issued, unused and unexpired)
    ("POST", "/api/v1/auth/register/confirm"): {"token"},
    ("POST", "/api/v1/auth/password-reset/confirm"): {"token"},
    # the caller's own password
    ("POST", "/api/v1/auth/password"): {"current_password"},
    # a webhook URL's host must resolve, to an address the deployment allows
    ("POST", "/api/v1/webhooks"): {"url"},
    ("PATCH", "/api/v1/webhooks/{endpoint_id}"): {"url"},
    # who calls and what exists: staff name the customer and may set payment_collected, a
    # customer may not; a customer without a stored address must give one; a line's product
    # must exist and be for sale
    ("POST", "/api/v1/orders"): {"customer_id", "shipping_address", "payment_collected", "items"},
    ("PUT", "/api/v1/orders/{order_id}"): {"payment_collected", "items"},
    # restocking adds to the current count, which must stay within a 32-bit count
    ("PUT", "/api/v1/products/{product_id}"): {"add_units"},
    # rules between query parameters (both ends of the range or neither; days or a range),
    # which OpenAPI 3.0 cannot state for parameters
    ("GET", "/api/v1/reports/analytics"): {"from", "to", "days"},
}
# every list: a cursor is the next_cursor of a previous page of that list, with its sort
CURSOR = {"cursor"}


@schemathesis.check
def positive_data_acceptance_given_state(ctx, response, case):
    """``positive_data_acceptance``, except a 422 that names only inputs the server's state
    decides (:data:`STATE_DEPENDENT`, a list's ``cursor``)."""
    if response.status_code == 422:
        key = (case.method.upper(), case.operation.path)
        details = response.json()["error"]["details"]
        if details and set(details) <= STATE_DEPENDENT.get(key, set()) | CURSOR:
            return None
    return positive_data_acceptance(ctx, response, case)


LONG = os.environ.get("OMS_LONG_FUZZ") == "1"
EXAMPLES = int(os.environ.get("OMS_SCHEMATHESIS_EXAMPLES", "100" if LONG else "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance_given_state,
]
# Operations that end the login session they are called with: each call gets a login of its
# own, so the role's token keeps working for the other operations.
SESSION_ENDING = {
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/logout-all"),
    ("POST", "/api/v1/auth/password"),
}


def _load_schema():
    """The document as the app serves it (no database needed to render it)."""
    document = create_app(make_test_config()).test_client().get("/api/v1/openapi.json")
    # plain json: the app's own reads numbers as Decimal (oms.api.content.ExactJSONProvider)
    schema = schemathesis.openapi.from_dict(json.loads(document.data))
    # A refusal is any documented 4xx: the app also refuses a body over OMS_MAX_BODY_BYTES
    # (413) and a URL over the server's limit (414) before reading what is in it.
    rejection = schema.config.checks.negative_data_rejection
    schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[*rejection.expected_statuses, "413", "414"]
    )
    return schema


SCHEMA = _load_schema()
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}


class Login:
    """Bearer headers of a user of one role, from real logins through the API."""

    def __init__(self, app, role: UserRole):
        self.app = app
        self.role = role.value
        with app.app_context():
            user = make_user(role)
            owner = user if role == UserRole.CUSTOMER else make_user(UserRole.CUSTOMER)
            product = make_product(stock=100)
            order = make_order(owner, [(product, 1)])
            self._email = user.email
            # Real ids for path parameters, so requests also reach existing rows, not only 404s.
            self.known = {
                "user_id": str(user.id),
                "product_id": str(product.id),
                "order_id": str(order.id),
                "customer_id": str(order.customer_id),
            }
        self.standing = self.fresh()

    def fresh(self) -> dict:
        response = self.app.test_client().post(
            "/api/v1/auth/login", json={"email": self._email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    def call_and_validate(self, case) -> None:
        """Send the case with this role's token and run the checks on its response."""
        key = (case.method.upper(), case.operation.path)
        headers = self.fresh() if key in SESSION_ENDING else self.standing
        if "Authorization" in (case.headers or {}):
            headers = {}  # the case tries a token of its own
        fuzz_stats["requests"] += 1
        requests_by_role[self.role] += 1
        # Schemathesis asks for gzip as requests does, but reads the WSGI answer undecoded: the
        # app's compression (OMS_COMPRESS, tested in tests/web/test_assets.py) stays out of it
        headers = {**headers, "Accept-Encoding": "identity"}
        case.call_and_validate(app=self.app, headers=headers, checks=CHECKS)


def _strategy(operation, known: dict):
    """Valid and invalid requests; with the seeded rows' ids too where the path takes ids."""
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    names = {param.name for param in operation.path_parameters}
    if names and names <= known.keys():
        ids = {name: known[name] for name in names}
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=ids))
    return st.one_of(strategies)


@pytest.mark.parametrize("label", sorted(OPERATIONS))
@pytest.mark.parametrize("role", list(UserRole), ids=lambda role: role.value)
def test_api_document(app, role, label):
    login = Login(app, role)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=not LONG,
    )
    @given(case=_strategy(OPERATIONS[label], login.known))
    def run(case):
        login.call_and_validate(case)

    run()
