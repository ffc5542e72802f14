"""The admin's workers page in Chromium: the session's real worker process is listed with the
queues and task outcomes, and stock drift the reconciler finds appears live."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from oms import tasks
from oms.auth.enums import UserRole
from oms.extensions import db
from oms.ops import reconcile
from oms.products.models import Product
from tests.e2e.checks import axe_violations
from tests.factories import PASSWORD, make_order, make_product, make_user

pytestmark = pytest.mark.slow


def _set_reserved(product_id, value: int) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(Product).where(Product.id == product_id).values(reserved_count=value)
        )


def test_the_workers_page_shows_the_worker_and_drift_live(app_ctx, open_session):
    admin = make_user(UserRole.ADMIN)
    kettle = make_product(name="Drifting kettle", stock=10)
    make_order(make_user(), [(kettle, 2)])
    session = open_session()
    session.login(admin.email, PASSWORD, next_path="/admin/workers")
    page = session.page
    expect(page.get_by_role("heading", name="Workers", exact=True)).to_be_visible()
    worker = page.locator("#workers tr[data-worker^='w1@']")
    expect(worker).to_be_visible(timeout=15000)
    expect(worker).to_contain_text("pid")
    for queue in tasks.QUEUES:
        expect(page.locator(f"#queues tr[data-queue={queue}]")).to_be_visible()
    expect(page.locator("header nav a[aria-current=page]")).to_have_text("Workers")
    session.wait_live()
    assert axe_violations(page) == []

    _set_reserved(kettle.id, 5)
    reconcile.reconcile()  # repair off: reported, left as it is
    drift = page.locator(f"#drift li[data-product-id='{kettle.id}']")
    expect(drift).to_contain_text("Drifting kettle had reserved_count 5, its orders hold 2")
    expect(drift).to_contain_text("left as it is")
    _set_reserved(kettle.id, 2)
