"""The staff dashboard: live order queue, order detail, new order for a customer, customers
and products. Admins may use it too."""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, render_template, request

from oms.auth.access import STAFF_ROLES
from oms.db import utcnow
from oms.orders import documents
from oms.orders.enums import OrderStatus
from oms.web.guard import current_page_user, page
from oms.web.order_data import order_detail

blp = Blueprint("staff", __name__)


@blp.get("")
@page(*STAFF_ROLES)
def queue():
    """The live order queue, filterable by status (``?status=placed``)."""
    return render_template("staff/queue.html", statuses=list(OrderStatus))


def pick_list_url() -> str | None:
    """The pick-list print view's path when this app has one (the bulk bar links it)."""
    paths = {rule.rule for rule in current_app.url_map.iter_rules()}
    return "/staff/pick-list" if "/staff/pick-list" in paths else None


@blp.get("/orders")
@page(*STAFF_ROLES)
def orders():
    """The live order table: saved views, search, bulk actions, keyboard shortcuts."""
    return render_template(
        "staff/orders.html", statuses=list(OrderStatus), pick_list_url=pick_list_url()
    )


@blp.get("/orders/new")
@page(*STAFF_ROLES)
def new_order():
    """Create an order on behalf of a customer."""
    return render_template("staff/new_order.html")


@blp.get("/orders/<uuid:order_id>")
@page(*STAFF_ROLES)
def order(order_id: uuid.UUID):
    """One order with items, history, customer and the allowed actions."""
    return render_template(
        "staff/order.html", order=order_detail(order_id=order_id, user=current_page_user())
    )


@blp.get("/orders/<uuid:order_id>/packing-slip")
@page(*STAFF_ROLES)
def packing_slip(order_id: uuid.UUID):
    """The order's packing slip, for paper (print CSS)."""
    slip = documents.packing_slip(order_id=order_id, actor=current_page_user())
    return render_template("print/packing_slip.html", **slip, printed_at=utcnow())


@blp.get("/pick-list")
@page(*STAFF_ROLES)
def pick_list():
    """One pick list for the orders in ``?ids=<id>,<id>...``: units grouped by product."""
    ids = documents.parse_ids(request.args.get("ids"))
    picks = documents.pick_list(order_ids=ids)
    return render_template("print/pick_list.html", **picks, printed_at=utcnow())


@blp.get("/customers")
@page(*STAFF_ROLES)
def customers():
    """Customer records: search, create, edit (admins also delete)."""
    return render_template("staff/customers.html")


@blp.get("/products")
@page(*STAFF_ROLES)
def products():
    """The catalogue: create, edit, deactivate, restock; stock updates live."""
    return render_template("staff/products.html")
