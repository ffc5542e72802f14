"""Every error type's status and envelope, and malformed input."""

from __future__ import annotations

import pytest

from oms.auth.enums import UserRole
from tests.factories import PASSWORD, make_user


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    return error


def test_validation_error_has_field_details(client):
    response = client.post("/api/v1/auth/login", json={"email": "not-an-email"})
    error = assert_envelope(response, 422, "validation_error")
    assert error["details"] == {
        "email": ["Not a valid email address."],
        "password": ["Missing data for required field."],
    }


def test_unknown_fields_are_refused(client):
    response = client.post(
        "/api/v1/auth/login", json={"email": "a@b.test", "password": "x", "admin": True}
    )
    assert assert_envelope(response, 422, "validation_error")["details"] == {
        "admin": ["Unknown field."]
    }


def test_authentication_error(client):
    assert_envelope(client.get("/api/v1/auth/me"), 401, "authentication_error")


def test_authorization_error(app_ctx, client, auth):
    user = make_user(UserRole.CUSTOMER)
    assert_envelope(
        client.get("/api/v1/users", headers=auth.headers(user.email, PASSWORD)),
        403,
        "authorization_error",
    )


def test_not_found(client):
    assert_envelope(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_conflict(app_ctx, client, auth):
    make_user(UserRole.STAFF, email="dup@example.test")
    admin = make_user(UserRole.ADMIN)
    response = client.post(
        "/api/v1/users",
        json={"email": "dup@example.test", "password": "long-enough-1", "role": "staff"},
        headers=auth.headers(admin.email, PASSWORD),
    )
    assert_envelope(response, 409, "email_taken")
    # the message lands on the field it is about, in words (not the email itself)
    assert response.get_json()["error"]["details"] == {
        "email": ["A user with this email already exists."]
    }


def test_method_not_allowed(client):
    response = client.delete("/api/v1/auth/login")
    assert_envelope(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/auth/login", data='{"email": ', content_type="application/json")
    assert_envelope(response, 400, "malformed_json")


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42"])
def test_json_that_is_not_an_object_is_422(client, body):
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert_envelope(response, 422, "validation_error")


def test_wrong_content_type_is_415(client):
    response = client.post("/api/v1/auth/login", data="email=a@b.test&password=x")
    assert_envelope(response, 415, "unsupported_media_type")
    response = client.post("/api/v1/auth/login", data="<xml/>", content_type="application/xml")
    assert_envelope(response, 415, "unsupported_media_type")


def test_oversize_body_is_413(client):
    huge = '{"email": "a@b.test", "password": "' + "x" * (2 * 1024 * 1024) + '"}'
    response = client.post("/api/v1/auth/login", data=huge, content_type="application/json")
    assert_envelope(response, 413, "payload_too_large")


def test_bad_query_argument_is_422(app_ctx, client, auth):
    admin = make_user(UserRole.ADMIN)
    response = client.get("/api/v1/users?limit=abc", headers=auth.headers(admin.email, PASSWORD))
    assert "limit" in assert_envelope(response, 422, "validation_error")["details"]


@pytest.mark.usefixtures("_database")
def test_unexpected_error_is_500_without_a_stack_trace():
    from oms import create_app
    from tests.conftest import make_test_config

    app = create_app(make_test_config(TESTING=False, PROPAGATE_EXCEPTIONS=False))

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    response = app.test_client().get("/api/v1/boom")
    error = assert_envelope(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text
    assert error["message"] == "An unexpected error occurred."


def test_request_id_is_kept_or_generated(client):
    kept = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz")
    assert len(generated.headers["X-Request-ID"]) == 32
    # a header that could forge log lines is replaced, not echoed
    forged = client.get("/healthz", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert forged.headers["X-Request-ID"] != "a b\tc" + "x" * 200
