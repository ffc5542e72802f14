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
