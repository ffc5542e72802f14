"""Screenshots of the customer portal, the staff dashboard and the admin dashboard at desktop
(1280 px) and phone (375 px) width, for the README.

Run it with ``make screenshots`` (or ``python -m tests.e2e.screenshots --out DIR``). It needs
no server: it builds a throwaway SQLite database in a temporary folder with the demo logins,
catalogue and a few weeks of orders, serves the app in the embedded default (tasks and
Socket.IO in-process), and drives Debian's Chromium (``/usr/bin/chromium``) with Playwright.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WIDTHS = {"desktop": 1280, "phone": 375}
SHOTS = [
    # (file stem, login email, password, path[, what to do on the page before the shot])
    ("customer", "customer@example.com", "customer-pass-123", "/customer"),
    ("customer-order", "customer@example.com", "customer-pass-123", "{order}"),
    ("staff", "staff@example.com", "staff-pass-123", "/staff"),
    ("staff-products", "staff@example.com", "staff-pass-123", "/staff/products"),
    # a shipped order with its carrier, tracking link and an internal note on the timeline
    ("staff-order", "staff@example.com", "staff-pass-123", "/staff/orders/{order_id}"),
    (
        "packing-slip",
        "staff@example.com",
        "staff-pass-123",
        "/staff/orders/{order_id}/packing-slip",
    ),
    ("pick-list", "staff@example.com", "staff-pass-123", "/staff/pick-list?ids={pick_ids}"),
    ("admin", "admin@example.com", "admin-pass-123", "/admin"),
    # the last 7 days against the 7 before
    ("admin-analytics", "admin@example.com", "admin-pass-123", "/admin/analytics?days=7"),
    ("admin-users", "admin@example.com", "admin-pass-123", "/admin/users"),
    ("admin-webhooks", "admin@example.com", "admin-pass-123", "/admin/webhooks"),
    # the demo's logins and changes, newest first
    ("admin-audit", "admin@example.com", "admin-pass-123", "/admin/audit"),
    ("account", "customer@example.com", "customer-pass-123", "/account"),
    (
        "staff-cancel-dialog",
        "staff@example.com",
        "staff-pass-123",
        "/staff",
        lambda page: page.locator('[data-action="cancelled"]').first.click(),
    ),
]


def _bulk_pick(page) -> None:
    """Select five orders of mixed statuses (a shift-click range) and pick them: the result
    lists what was done and what was refused. Each width takes rows of its own."""
    first = 4 if page.viewport_size["width"] > 500 else 10
    rows = page.locator("#orders tr[data-order-id]")
    rows.nth(first).locator(".row-select").click()
    rows.nth(first + 4).locator(".row-select").click(modifiers=["Shift"])
    page.locator("#bulk-bar").get_by_role("button", name="Pick", exact=True).click()
    page.get_by_test_id("bulk-summary").filter(has_text="Picked").wait_for()
    rows.nth(first + 5).locator(".row-select").click()  # a new selection beside the result
    page.evaluate("window.scrollTo(0, 0)")


SHOTS += [
    ("staff-orders", "staff@example.com", "staff-pass-123", "/staff/orders"),
    ("staff-orders-bulk", "staff@example.com", "staff-pass-123", "/staff/orders", _bulk_pick),
    (
        "staff-orders-shortcuts",
        "staff@example.com",
        "staff-pass-123",
        "/staff/orders?view=to-pick",
        lambda page: page.keyboard.press("?"),
    ),
]
CUSTOMERS = [
    (
        "Nora",
        "Berg",
        {"line1": "Storgata 1", "city": "Oslo", "postal_code": "0155", "country": "NO"},
    ),
    (
        "Liam",
        "Meyer",
        {"line1": "Hauptstr. 5", "city": "Berlin", "postal_code": "10117", "country": "DE"},
    ),
    (
        "Ana",
        "Silva",
        {"line1": "Rua Augusta 20", "city": "Lisboa", "postal_code": "1100", "country": "PT"},
    ),
]


def build_database(instance: Path) -> dict[str, str]:
    """A SQLite database with the demo data and three weeks of orders; returns the id of a
    shipped order of the demo customer (shown on its status page, with a note for staff) and
    the placed orders a pick list is made of."""
    os.environ["OMS_INSTANCE_DIR"] = str(instance)
    os.environ["OMS_DATABASE_URL"] = f"sqlite:///{instance / 'screens.sqlite3'}"
    os.environ.pop("OMS_REDIS_URL", None)
    os.environ.pop("OMS_BROKER_URL", None)
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from oms import create_app, demo
    from oms.auth import service as auth_service
    from oms.auth.enums import UserRole
    from oms.customers import service as customers
    from oms.db import utcnow
    from oms.extensions import db
    from oms.orders import actions as orders
    from oms.orders.enums import OrderStatus
    from oms.orders.models import Order
    from oms.products.models import Product

    app = create_app({"OMS_LOG_LEVEL": "WARNING", "OMS_MAIL_DIR": str(instance / "mail")})
    rng = random.Random(7)
    with app.app_context():
        upgrade()
        demo.load()
        staff = auth_service.get_by_email(email="staff@example.com")
        buyers = [auth_service.get_by_email(email="customer@example.com")]
        for first, last, address in CUSTOMERS:
            user = auth_service.create_user(
                email=f"{first.lower()}@example.com",
                password="customer-pass-123",
                role=UserRole.CUSTOMER,
                first_name=first,
                last_name=last,
            )
            customers.update(customer_id=user.customer.id, address=address)
            buyers.append(user)
        customers.update(customer_id=buyers[0].customer.id, address=CUSTOMERS[0][2])
        products = db.session.query(Product).order_by(Product.name).all()
        paths = [
            [],
            ["picked"],
            ["picked", "shipped"],
            ["picked", "shipped", "delivered"],
            ["picked", "shipped", "delivered"],
            ["cancelled"],
        ]
        now = utcnow()
        shown = None
        for n in range(42):
            buyer = buyers[n % len(buyers)]
            candidates = [p for p in products if p.available > 6]
            lines = rng.sample(candidates, k=rng.randint(1, 3))
            items = [{"product_id": p.id, "quantity": rng.randint(1, 3)} for p in lines]
            order = orders.place_order(actor=buyer, items=items).order
            for step in paths[n % len(paths)] if n < 38 else []:
                orders.change_status(
                    order_id=order.id,
                    actor=staff,
                    status=OrderStatus(step),
                    notes="Customer called to cancel." if step == "cancelled" else None,
                    **(
                        {"carrier": "ups", "tracking_number": f"1Z999AA1{n:08d}"}
                        if step == "shipped"
                        else {}
                    ),
                )
            # spread the orders over three weeks; each step some hours after the one before
            start = now - timedelta(days=rng.uniform(0.2, 20))
            order = db.session.get(Order, order.id)
            order.created_at = start
            moment = start
            for i, entry in enumerate(sorted(order.history, key=lambda h: h.created_at)):
                if i:
                    moment += (
                        timedelta(minutes=2) if i == 1 else timedelta(hours=rng.uniform(2, 30))
                    )
                entry.created_at = moment
            order.status_updated_at = max(h.created_at for h in order.history)
            db.session.commit()
            if buyer.email == "customer@example.com" and len(paths[n % len(paths)]) == 2:
                shown = order.id
        orders.add_note(
            order_id=shown, actor=staff, body="Customer asked for gift wrap; no invoice in the box."
        )
        placed = db.session.scalars(
            sa.select(Order.id).where(Order.status == OrderStatus.PLACED).limit(8)
        ).all()
        db.session.remove()
    return {"order_id": str(shown), "pick_ids": ",".join(str(i) for i in placed)}


def take(out: Path, base: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import chromium_problem, launch

    problem = chromium_problem()
    if problem:
        sys.exit(f"screenshots: {problem}")
    written = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for stem, email, password, path, *before in SHOTS:
            for label, width in WIDTHS.items():
                context = browser.new_context(
                    base_url=base,
                    viewport={"width": width, "height": 900 if width > 500 else 812},
                    device_scale_factor=1,
                    locale="en-GB",
                    timezone_id="Europe/Oslo",
                )
                page = context.new_page()
                page.goto("/login")
                page.get_by_label("Email").fill(email)
                page.get_by_label("Password").fill(password)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url(lambda url: "/login" not in url)
                page.goto(path)
                page.wait_for_load_state("networkidle")
                for action in before:
                    action(page)
                page.wait_for_timeout(800)  # charts finish their short animation
                target = out / f"{stem}-{label}.png"
                # desktop: the whole page; phone, or an open dialog: the screen as a person sees it
                page.screenshot(path=str(target), full_page=width > 500 and not before)
                written.append(target)
                context.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    from tests.processes import Process, free_port, start_web

    with tempfile.TemporaryDirectory(prefix="oms-screens-") as tmp:
        instance = Path(tmp)
        ids = build_database(instance)
        port = free_port()
        env = {
            **os.environ,
            "OMS_LOG_LEVEL": "WARNING",
            "OMS_RATELIMIT_LOGIN": "1000 per minute",  # twelve logins in a row
            "PYTHONUNBUFFERED": "1",
        }
        web: Process = start_web(env, instance / "web.log", port)
        try:
            global SHOTS
            SHOTS = [
                (s, e, p, path.format(order=f"/customer/orders/{ids['order_id']}", **ids), *rest)
                for s, e, p, path, *rest in SHOTS
            ]
            for path in take(out, f"http://127.0.0.1:{port}"):
                print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        finally:
            web.stop()


if __name__ == "__main__":
    main()
