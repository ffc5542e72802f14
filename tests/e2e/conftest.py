"""Fixtures of the browser tests: one Chromium per session, a fresh context per user, and the
real stack (the ``web`` server process and the ``worker``, from tests/conftest.py)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from oms import events
from oms.extensions import db
from oms.notifications.models import Notification
from oms.outbox.models import OutboxMessage
from tests.e2e.browser import launch
from tests.processes import wait_for

DEFAULT_TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
def playwright() -> Iterator:
    """The one Playwright of the session (a second one cannot start in the same thread); a test
    using it needs ``chromium`` (tests/needs.py, tests/conftest.py)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright) -> Iterator:
    chromium = launch(playwright)
    yield chromium
    chromium.close()


class Session:
    """One user's browser context: its own cookies, like a second browser."""

    def __init__(self, browser, base_url: str):
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        self.context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def login(self, email: str, password: str, next_path: str = "") -> None:
        """Log in through the login page, as a person would."""
        page = self.page
        page.goto("/login" + (f"?next={next_path}" if next_path else ""))
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login" not in url)

    def mark(self) -> None:
        """Mark the current document: if the page reloads, the mark is gone."""
        self.page.evaluate("window.__e2eMark = 'no reload'")

    def still_marked(self) -> bool:
        return self.page.evaluate("window.__e2eMark") == "no reload"

    def wait_live(self) -> None:
        self.page.locator("[data-live-status][data-state=live]").first.wait_for()


@pytest.fixture
def open_session(browser, web):
    """Open browser contexts for users; closed after the test."""
    sessions: list[Session] = []

    def _open() -> Session:
        session = Session(browser, web)
        sessions.append(session)
        return session

    yield _open
    for session in sessions:
        session.context.close()
    wait_for_worker()


def wait_for_worker(timeout: float = 30) -> bool:
    """Wait until the worker has done what the test set off (outbox sent, every customer email
    of a status change written), so cleaning the tables never races a running task."""

    def quiet() -> bool:
        db.session.remove()
        unsent = db.session.scalar(
            sa.select(sa.func.count()).where(
                OutboxMessage.sent_at.is_(None),
                # events' rows: stored in the stream after the commit, marked sent by beat's relay,
                # which these tests do not run
                OutboxMessage.task != events.OUTBOX_TASK,
            )
        )
        # a status change's email is its notifications row (no outbox row records it)
        emails_due = db.session.scalar(
            sa.select(sa.func.count()).where(Notification.dedupe_key.startswith("order-status:"))
        )
        emails_sent = db.session.scalar(
            sa.select(sa.func.count()).where(Notification.sent_at.is_not(None))
        )
        return unsent == 0 and emails_sent >= emails_due

    settled = wait_for(quiet, timeout, interval=0.2)
    db.session.remove()
    return settled


@pytest.fixture
def web_mail_dir() -> Path:
    """Where the worker process started by the tests writes its emails (tests/processes.py)."""
    return Path(tempfile.gettempdir()) / f"oms-test-mail-{os.getpid()}"
