"""The static files (``oms/static``) under a versioned URL, kept by browsers for a year.

Pages name them with ``url_for("static", filename=...)``, which puts the version of the whole
folder (a hash of its files) into the path: ``/static/<version>/js/pages/login.js``. A path
rather than a query string, because the JavaScript modules import one another by relative URLs
(``../api.js``), which so carry the version too. A release that changes a file changes the
version, so the files are served ``immutable`` for a year. A request naming another version
(a page of the previous release, open during an upgrade) gets the current file, revalidated on
every use. Development serves them ``no-cache``: a file edited while ``make run`` runs keeps
its version, and must not stay in the browser's cache.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Flask, current_app, send_from_directory

STATIC_DIR = Path(__file__).resolve().parent / "static"
ONE_YEAR = 365 * 24 * 3600


@cache
def static_version(folder: Path = STATIC_DIR) -> str:
    """A short hash of every file's path and content under ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def register_static_files(app: Flask) -> None:
    """Serve ``/static/<version>/<path>`` as the ``static`` endpoint; ``url_for`` fills in the
    version."""
    version = static_version()
    app.add_url_rule("/static/<version>/<path:filename>", endpoint="static", view_func=_serve)

    @app.url_defaults
    def _static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static":
            values.setdefault("version", version)


def _serve(version: str, filename: str):
    forever = version == static_version() and current_app.config["OMS_ENV"] != "development"
    response = send_from_directory(STATIC_DIR, filename, max_age=ONE_YEAR if forever else None)
    if forever:
        response.cache_control.immutable = True
    return response
