"""Static files under a versioned URL, kept for a year; answers compressed by the app where no
proxy does it (OMS_COMPRESS) and streamed exports left streamed (item 8 of issue 19; the
proxy's side: tests/ops/test_proxy.py)."""

from __future__ import annotations

import gzip
import re
from urllib.parse import urljoin

import pytest

from oms import create_app
from oms.assets import static_version
from oms.auth.enums import UserRole
from tests.conftest import make_test_config
from tests.factories import PASSWORD, make_user

YEAR = "max-age=31536000"


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def test_pages_name_versioned_static_files_served_immutable_for_a_year(app_ctx, client):
    assets = _assets(client.get("/login").get_data(as_text=True))
    assert assets
    for url in assets:
        assert url.startswith(f"/static/{static_version()}/"), url
        answer = client.get(url)
        assert answer.status_code == 200, url
        cache = answer.headers["Cache-Control"]
        assert "immutable" in cache and YEAR in cache and "public" in cache, (url, cache)


def test_modules_imported_by_relative_urls_are_versioned_too(app_ctx, client):
    login_js = next(u for u in _assets(client.get("/login").get_data(as_text=True)) if "login" in u)
    source = client.get(login_js).get_data(as_text=True)
    imports = re.findall(r'from "(\.[^"]+)"', source)
    assert imports
    for relative in imports:
        url = urljoin(login_js, relative)
        assert url.startswith(f"/static/{static_version()}/js/"), url
        assert "immutable" in client.get(url).headers["Cache-Control"]


def test_another_version_gets_the_current_file_revalidated(app_ctx, client):
    answer = client.get("/static/0123456789ab/js/api.js")
    assert answer.status_code == 200
    assert "no-cache" in answer.headers["Cache-Control"]
    assert "immutable" not in answer.headers["Cache-Control"]
    assert client.get(f"/static/{static_version()}/js/nothing-here.js").status_code == 404


@pytest.mark.usefixtures("_database")
def test_development_revalidates_static_files():
    app = create_app(make_test_config(OMS_ENV="development"))
    with app.test_request_context():
        from flask import url_for

        url = url_for("static", filename="js/api.js")
    answer = app.test_client().get(url)
    assert answer.status_code == 200
    assert "no-cache" in answer.headers["Cache-Control"]


def test_the_version_follows_the_files(tmp_path):
    (tmp_path / "app.js").write_text("one")
    first = static_version(tmp_path)
    (tmp_path / "app.js").write_text("two")
    static_version.cache_clear()
    assert static_version(tmp_path) != first
    static_version.cache_clear()


def test_pages_and_json_are_compressed_without_a_proxy(app_ctx, client, auth):
    admin = make_user(UserRole.ADMIN)
    headers = {**auth.headers(admin.email, PASSWORD), "Accept-Encoding": "gzip"}
    page = client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert b"<form" in gzip.decompress(page.get_data())
    spec = client.get("/api/v1/openapi.json", headers=headers)
    assert spec.headers["Content-Encoding"] == "gzip"
    assert len(spec.get_data()) * 4 < len(gzip.decompress(spec.get_data()))
    export = client.get("/api/v1/reports/orders/export", headers=headers)
    assert export.status_code == 200
    assert export.is_streamed and "Content-Encoding" not in export.headers


@pytest.mark.usefixtures("_database")
def test_behind_a_proxy_the_app_leaves_compression_to_it(monkeypatch):
    monkeypatch.setenv("OMS_PROXY_HOPS", "1")
    app = create_app(make_test_config())
    answer = app.test_client().get("/login", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert "Content-Encoding" not in answer.headers
