"""The OpenAPI document and the docs page, served by the app itself."""

from __future__ import annotations

DESIGN_ROUTES = {
    ("/api/v1/auth/login", "post"),
    ("/api/v1/auth/logout", "post"),
    ("/api/v1/auth/me", "get"),
    ("/api/v1/orders", "get"),
    ("/api/v1/orders", "post"),
    ("/api/v1/orders/{order_id}", "get"),
    ("/api/v1/orders/{order_id}", "put"),
    ("/api/v1/orders/{order_id}/status", "patch"),
    ("/api/v1/products", "get"),
    ("/api/v1/products", "post"),
    ("/api/v1/products/{product_id}", "put"),
    ("/api/v1/products/{product_id}", "delete"),
    ("/api/v1/customers", "get"),
    ("/api/v1/customers", "post"),
    ("/api/v1/customers/{customer_id}", "put"),
    ("/api/v1/customers/{customer_id}", "delete"),
}


def test_openapi_document_lists_the_design_routes(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert documented >= DESIGN_ROUTES
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    order_create = spec["paths"]["/api/v1/orders"]["post"]
    assert "202" in order_create["responses"]
    assert any(p["name"] == "Idempotency-Key" for p in order_create["parameters"])


def test_docs_page_is_served_without_a_cdn(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/openapi.json" in html
    assert "cdn" not in html.lower() and "https://" not in html
    asset = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000


def _spec(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def _operations(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method != "parameters":
                yield path, method, op


def test_the_document_is_valid_openapi(client):
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.validators import OpenAPIV30SpecValidator

    spec = _spec(client)
    errors = [e.message for e in OpenAPIV30SpecValidator(spec).iter_errors()]
    assert errors == []
    validate(spec)


# operations anyone may call (no token): logging in, registering, resetting a password
PUBLIC = (
    "/api/v1/auth/login",
    "/api/v1/auth/register",
    "/api/v1/auth/register/confirm",
    "/api/v1/auth/password-reset",
    "/api/v1/auth/password-reset/confirm",
)


def test_login_register_and_refresh_need_no_access_token(client):
    spec = _spec(client)
    auth = spec["paths"]
    assert auth["/api/v1/auth/login"]["post"]["security"] == []
    assert auth["/api/v1/auth/register"]["post"]["security"] == []
    for path in PUBLIC:
        assert auth[path]["post"]["security"] == [], path
    refresh = auth["/api/v1/auth/refresh"]["post"]["security"]
    assert {"bearerAuth": []} in refresh
    assert {"refreshCookie": [], "csrfHeader": []} in refresh
    assert "security" not in spec  # no blanket requirement
    # every other operation takes a bearer token or the browser's cookie (with CSRF on changes)
    for path, method, op in _operations(spec):
        if path in PUBLIC or path == "/api/v1/auth/refresh":
            continue
        cookie = {"accessCookie": []} if method == "get" else {"accessCookie": [], "csrfHeader": []}
        assert op["security"] == [{"bearerAuth": []}, cookie], (method, path)


def test_cookie_and_csrf_schemes_are_documented(client):
    schemes = _spec(client)["components"]["securitySchemes"]
    assert schemes["accessCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "access_token_cookie",
        "description": schemes["accessCookie"]["description"],
    }
    assert schemes["csrfHeader"]["in"] == "header"
    assert schemes["csrfHeader"]["name"] == "X-CSRF-TOKEN"


def test_money_is_documented_as_a_decimal_string(client):
    schemas = _spec(client)["components"]["schemas"]
    for name, field in (("Order", "total_amount"), ("OrderLine", "unit_price")):
        prop = schemas[name]["properties"][field]
        assert prop["type"] == "string" and prop["format"] == "decimal", (name, prop)


def test_error_responses_are_documented_with_the_envelope(client):
    spec = _spec(client)
    for path, method, op in _operations(spec):
        responses = op["responses"]
        assert "default" not in responses, (method, path)
        expected = {"414", "422", "429", "503"}
        if op["security"]:
            expected.add("401")
        if "{" in path:
            expected.add("404")
        if method != "get":
            expected.add("409")
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in responses:
            if int(status) >= 400:
                content = responses[status]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/Error"}
                assert content["example"]["error"]["code"]
    users = spec["paths"]["/api/v1/users"]["get"]["responses"]
    assert "403" in users  # admins only
    assert "403" not in spec["paths"]["/api/v1/orders"]["get"]["responses"]  # every role


def test_requests_carry_examples(client):
    paths = _spec(client)["paths"]
    for path, method in (
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/register", "post"),
        ("/api/v1/orders", "post"),
        ("/api/v1/orders/{order_id}/status", "patch"),
        ("/api/v1/products", "post"),
    ):
        assert paths[path][method]["requestBody"]["content"]["application/json"]["example"]
