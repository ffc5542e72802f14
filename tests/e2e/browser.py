"""Launching Debian's Chromium for the browser tests and the screenshot script.

The tests never download a browser: they use ``/usr/bin/chromium`` (``OMS_CHROMIUM`` overrides
the path). Where it is missing, a test using the ``browser`` fixture skips loudly, or fails when
``OMS_REQUIRE_BROWSER=1`` (CI sets it, so a missing browser can never pass as green): the
``chromium`` need of tests/needs.py.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM = os.environ.get("OMS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Never let Playwright fetch a browser of its own.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


def chromium_problem() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        hint = (
            " (found one at " + shutil.which("chromium") + ")" if shutil.which("chromium") else ""
        )
        return (
            f"Chromium is not installed at {CHROMIUM}{hint}: `make services` installs Debian's "
            "package (or set OMS_CHROMIUM)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: `pip install -e '.[dev]'`"
    return None


def launch(playwright):
    """Headless Debian Chromium with the flags the tests need in a container."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
