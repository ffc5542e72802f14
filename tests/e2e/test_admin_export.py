"""An admin queues a CSV export of the current filter, watches its progress bar finish live,
and downloads a file whose rows are the database's. Needs the exports feature (issue 6)."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from tests.factories import PASSWORD, make_order, make_product, make_user

pytestmark = pytest.mark.slow


def test_admin_exports_the_filtered_orders_to_csv(app_ctx, open_session):
    admin_email = make_user(UserRole.ADMIN).email
    buyers = [make_user(UserRole.CUSTOMER) for _ in range(3)]
    staff = make_user(UserRole.STAFF)
    mug = make_product(name="Stoneware mug", price="8.00", stock=500)
    for n in range(45):
        status = OrderStatus.SHIPPED if n % 3 == 0 else OrderStatus.PLACED
        make_order(buyers[n % 3], [(mug, 1 + n % 4)], status=status, staff=staff)
    db.session.remove()
    expected = {
        (o.number, str(o.id), o.status.value, f"{o.total_amount:.2f}")
        for o in db.session.scalars(sa.select(Order).where(Order.status == OrderStatus.PLACED))
    }
    assert len(expected) == 30

    desk = open_session()
    desk.login(admin_email, PASSWORD, next_path="/admin?status=placed")
    page = desk.page
    # the filter from the URL is on the form and on the table
    expect(page.locator('input[name="status"][value="placed"]')).to_be_checked()
    expect(page.locator("#orders tr[data-order-id]")).to_have_count(25)
    desk.wait_live()

    page.get_by_test_id("export-button").click()
    job = page.get_by_test_id("export-job").first
    expect(job.get_by_test_id("export-status")).to_have_text("Finished", timeout=60_000)
    expect(job.get_by_test_id("export-progress")).to_have_attribute("value", "100")
    expect(job).to_contain_text("30 of 30 rows")

    with page.expect_download() as download_info:
        job.get_by_test_id("export-download").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    got = {(r["number"], r["id"], r["status"], r["total_amount"]) for r in rows}
    assert got == expected
    assert len(rows) == len(expected)
