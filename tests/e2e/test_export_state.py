"""A small export that finishes before its 202 reaches the page shows its real state at once,
not "Queued" until the fallback poll (5 s while live)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from tests.factories import PASSWORD, make_order, make_product, make_user

pytestmark = pytest.mark.slow

# Records the name of every Socket.IO event the page receives (window.__socketEvents), by
# wrapping the vendored client's io() as the page loads it.
RECORD_EVENTS = """
window.__socketEvents = [];
let realIo;
Object.defineProperty(window, "io", {
  configurable: true,
  get() { return realIo; },
  set(io) {
    realIo = Object.assign((...args) => {
      const socket = io(...args);
      socket.onAny((name) => window.__socketEvents.push(name));
      return socket;
    }, io);
  },
});
"""


def test_a_quick_export_shows_finished_at_once(app_ctx, open_session):
    buyer = make_user(UserRole.CUSTOMER)
    mug = make_product(name="Mug", price="5.00", stock=20)
    for _ in range(3):
        make_order(buyer, [(mug, 1)])
    admin = make_user(UserRole.ADMIN)
    desk = open_session()
    desk.context.add_init_script(RECORD_EVENTS)
    desk.login(admin.email, PASSWORD, next_path="/admin")
    page = desk.page
    desk.wait_live()
    expect(page.locator("#orders tr[data-order-id]")).to_have_count(3)

    def slow_answer(route):
        """The export is queued and done, and the page heard that it finished, before the 202
        arrives (a slow network on the way back)."""
        if route.request.method != "POST":
            route.fallback()
            return
        response = route.fetch()
        deadline = time.monotonic() + 20
        while not page.evaluate("window.__socketEvents.includes('export.finished')"):
            assert time.monotonic() < deadline, "the worker never finished the export"
            page.wait_for_timeout(20)
        route.fulfill(response=response)

    page.route("**/api/v1/reports/exports", slow_answer)
    page.get_by_test_id("export-button").click()
    job = page.get_by_test_id("export-job").first
    # well inside the fallback poll's 5 s: what the page already knows, or asks at once
    expect(job.get_by_test_id("export-status")).to_have_text("Finished", timeout=2_000)
    expect(job).to_contain_text("3 of 3 rows")
    expect(job.get_by_test_id("export-download")).to_be_visible(timeout=2_000)
