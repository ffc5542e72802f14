"""The customer portal: order form, my orders, lookup, and one order's live status page."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template

from oms.auth.enums import UserRole
from oms.web.guard import current_page_user, page
from oms.web.order_data import order_detail

blp = Blueprint("customer", __name__)


@blp.get("")
@page(UserRole.CUSTOMER)
def home():
    """New order form (address prefilled from the customer record), my orders, lookup."""
    record = current_page_user().customer
    return render_template(
        "customer/portal.html", address=(record.address if record else None) or {}
    )


@blp.get("/orders/<uuid:order_id>")
@page(UserRole.CUSTOMER)
def order(order_id: uuid.UUID):
    """One order: its status timeline, updated live, and cancel while allowed."""
    return render_template(
        "customer/order.html", order=order_detail(order_id=order_id, user=current_page_user())
    )
