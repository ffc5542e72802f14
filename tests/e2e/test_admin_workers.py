"""The admin's workers page in Chromium: the session's real worker process is listed with the
queues, the next samples are pushed over Socket.IO (the API is asked once), and stock drift
the reconciler finds appears live."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from oms import tasks
from oms.auth.enums import UserRole
from oms.extensions import db
from oms.products.models import Product
from tests.e2e.checks import axe_violations
from tests.factories import PASSWORD, make_order, make_product, make_user

pytestmark = pytest.mark.slow


def _set_reserved(product_id, value: int) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(Product).where(Product.id == product_id).values(reserved_count=value)
        )


def test_the_workers_page_shows_the_worker_and_drift_live(app_ctx, open_session, live_app):
    admin = make_user(UserRole.ADMIN)
    kettle = make_product(name="Drifting kettle", stock=10)
    make_order(make_user(), [(kettle, 2)])
    session = open_session()
    page = session.page
    asked: list[str] = []
    page.on(
        "request",
        lambda request: asked.append(request.url) if "/api/v1/ops/workers" in request.url else None,
    )
    session.login(admin.email, PASSWORD, next_path="/admin/workers")
    expect(page.get_by_role("heading", name="Workers", exact=True)).to_be_visible()
    worker = page.locator("#workers tr[data-worker^='w1@']")
    expect(worker).to_be_visible(timeout=15000)
    expect(worker).to_contain_text("pid")
    for queue in tasks.QUEUES:
        expect(page.locator(f"#queues tr[data-queue={queue}]")).to_be_visible()
    expect(page.locator("header nav a[aria-current=page]")).to_have_text("Workers")
    session.wait_live()
    assert axe_violations(page) == []
    first = page.locator("#sampled-at").inner_text()
    expect(page.locator("#sampled-at")).not_to_have_text(first, timeout=15000)  # a push
    assert len(asked) == 1, asked
    expect(worker).to_be_visible()

    _set_reserved(kettle.id, 5)
    try:
        with live_app.app_context():  # the worker runs the beat task (repair off)
            live_app.extensions["celery"].send_task(tasks.RECONCILE_STOCK)
        drift = page.locator(f"#drift li[data-product-id='{kettle.id}']")
        expect(drift).to_contain_text(
            "Drifting kettle had reserved_count 5, its orders hold 2", timeout=20000
        )
        expect(drift).to_contain_text("left as it is")
    finally:
        _set_reserved(kettle.id, 2)
