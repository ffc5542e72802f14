"""``/api/v1/orders``: submit, list, read, edit orders and send status commands.

Customers see and act on their own orders only (another customer's order is a 404); staff and
admins see all. Prices and totals always come from the catalogue."""

from __future__ import annotations

import re

from flask import jsonify, request
from flask_jwt_extended import current_user

from oms.auth.access import STAFF_ROLES, require_role
from oms.db import serial_reads
from oms.errors import ValidationError
from oms.openapi import Blueprint
from oms.orders import actions, listing, queries
from oms.orders.models import Order
from oms.orders.schemas import (
    BulkStatusChangeSchema,
    BulkStatusResultSchema,
    NoteCreateSchema,
    NoteSchema,
    OrderCreateSchema,
    OrderDetailSchema,
    OrderListQuerySchema,
    OrderSchema,
    OrderUpdateSchema,
    StatusChangeSchema,
)
from oms.pagination import (
    PageQuerySchema,
    count_capped,
    counted_page_schema,
    page_schema,
    paginate,
)

blp = Blueprint("orders", __name__, description="Orders and their lifecycle")
customer_orders_blp = Blueprint(
    "customer_orders", __name__, description="A customer's order history"
)

SORTS = {
    "created_at": Order.created_at,
    "total_amount": Order.total_amount,
    "number": Order.number,
    "status_updated_at": Order.status_updated_at,
}
OrderPageSchema = page_schema(OrderSchema, "OrderPage")
CountedOrderPageSchema = counted_page_schema(OrderSchema, "CountedOrderPage")


def _page(query, args, any_of=()) -> dict:
    """One page of orders as the list schema would dump it, built from rows, not ORM objects
    (``oms.orders.listing``): the view answers it as it is."""
    page = paginate(
        listing.select_rows(query),
        args=args,
        sorts=SORTS,
        default_sort="-created_at",
        id_column=Order.id,
        any_of=any_of,
    )
    return {**page.as_dict(), "items": listing.build(page.items, current_user)}


@blp.route("", methods=["GET"])
@require_role()
@blp.arguments(OrderListQuerySchema, location="query")
@blp.response(200, CountedOrderPageSchema)
def list_orders(args):
    """Orders, newest first by default; filter, search (`q`: order number, customer or product
    name) and sort (`created_at`, `total_amount`, `number`, `status_updated_at`). `count` is
    every matching order, exact up to 10,000 (`count_capped` says when there are more)."""
    serial_reads()
    filters = {k: v for k, v in args.items() if k not in ("limit", "cursor", "sort", "q")}
    query = queries.get_all(actor=current_user, **filters)
    # q='s alternatives each page and count with their own index, not as one OR
    any_of = queries.search_terms(args["q"]) if args.get("q") else ()
    count, capped = count_capped(query, id_column=Order.id, any_of=any_of)
    page = _page(query, args, any_of)
    return jsonify({**page, "count": count, "count_capped": capped})


# 1 to 255 printable ASCII characters: what the document says and the check takes.
IDEMPOTENCY_KEY_PATTERN = r"^[ -~]{1,255}$"
_IDEMPOTENCY_KEY_SCHEMA = {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN}


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise ValidationError(
            "Invalid Idempotency-Key.",
            details={"Idempotency-Key": ["Use 1 to 255 printable ASCII characters."]},
        )
    return key


@blp.route("", methods=["POST"])
@require_role()
@blp.arguments(
    OrderCreateSchema,
    example={
        "items": [{"product_id": "7d4c4b5e-6f0a-4c1e-9a43-2f1f6f3f0b11", "quantity": 2}],
        "shipping_address": {
            "line1": "1 Main St",
            "city": "Oslo",
            "postal_code": "0150",
            "country": "NO",
        },
    },
)
@blp.response(202, OrderDetailSchema)
@blp.doc(
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "schema": _IDEMPOTENCY_KEY_SCHEMA,
            "description": "Retrying with the same key and body replays the first response "
            "for 24 hours.",
        }
    ]
)
def create_order(body):
    """Submit an order. It is accepted as `pending` (202) and a worker reserves its stock,
    moving it to `placed` or `rejected`. More than is available right now is a 409."""
    placement = actions.place_order(actor=current_user, idempotency_key=_idempotency_key(), **body)
    response = jsonify(placement.response)  # already rendered (and stored for replays)
    if placement.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response, 202


@blp.route("/<uuid:order_id>", methods=["GET"])
@require_role()
@blp.response(200, OrderDetailSchema)
def get_order(order_id):
    """One order with its lines and status history."""
    return queries.present_detail(queries.get(order_id=order_id, actor=current_user), current_user)


@blp.route("/<uuid:order_id>", methods=["PUT"])
@require_role()
@blp.arguments(OrderUpdateSchema)
@blp.response(200, OrderDetailSchema)
def update_order(body, order_id):
    """Change the shipping address, payment_collected (staff), or the lines while the order is
    pending or placed (re-reserving stock)."""
    actions.update_order(order_id=order_id, actor=current_user, **body)
    return queries.present_detail(queries.get(order_id=order_id, actor=current_user), current_user)


@blp.route("/<uuid:order_id>/status", methods=["PATCH"])
@require_role()
@blp.arguments(
    StatusChangeSchema,
    example={"status": "shipped", "carrier": "ups", "tracking_number": "1Z999AA10123456784"},
)
@blp.response(200, OrderDetailSchema)
def change_status(body, order_id):
    """Move the order to `status` (picked, shipped, delivered, cancelled). A transition the
    lifecycle refuses is a 409 naming the current status and the allowed next ones. Shipping
    may record `carrier` (a code of `OMS_CARRIERS`) and `tracking_number`; with any other
    status they are a 422."""
    # rendered by the use case from the rows it locked, before its commit (nothing read again)
    return jsonify(actions.change_status_detail(order_id=order_id, actor=current_user, **body))


@blp.route("/<uuid:order_id>/reorder", methods=["POST"])
@require_role()
@blp.response(202, OrderDetailSchema)
@blp.doc(
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "schema": _IDEMPOTENCY_KEY_SCHEMA,
            "description": "As for submitting: a retry with the same key replays the first "
            "response for 24 hours.",
        }
    ]
)
def reorder(order_id):
    """Place a past order again: a new order (202, `pending`) with the same lines, priced from
    today's catalogue, to the same address, through the normal submission and its
    `Idempotency-Key`. A product no longer sold or not in stock is a 409
    `reorder_unavailable` whose `details.lines` explain each line (`reason` `inactive` or
    `out_of_stock`, `wanted`, `available`, `message`)."""
    placement = actions.reorder(
        order_id=order_id, actor=current_user, idempotency_key=_idempotency_key()
    )
    response = jsonify(placement.response)
    if placement.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response, 202


@blp.route("/<uuid:order_id>/notes", methods=["POST"])
@require_role(*STAFF_ROLES)
@blp.arguments(NoteCreateSchema, example={"body": "Customer asked for gift wrap."})
@blp.response(201, NoteSchema)
def add_note(body, order_id):
    """Add an internal note to the order (staff and admins). Notes appear, with their author,
    in the order's `notes` for staff; customers never see them."""
    return actions.add_note(order_id=order_id, actor=current_user, body=body["body"])


@blp.route("/bulk-status", methods=["POST"])
@require_role(*STAFF_ROLES)
@blp.arguments(BulkStatusChangeSchema)
@blp.response(200, BulkStatusResultSchema)
def bulk_change_status(body):
    """Move many orders to `status` at once (staff and admins; at most 500 distinct ids). Each
    order is its own transaction with the lifecycle's rules: the answer lists, per order,
    `ok` with the new status or the refusal's `error` (code and message)."""
    outcomes = actions.change_statuses(actor=current_user, **body)
    results = []
    for outcome in outcomes:
        if outcome.error is None:
            results.append({"order_id": outcome.order_id, "ok": True, "status": outcome.status})
        else:
            error = {"code": outcome.error.code, "message": outcome.error.message}
            results.append({"order_id": outcome.order_id, "ok": False, "error": error})
    return {"results": results}


@customer_orders_blp.route("/<uuid:customer_id>/orders", methods=["GET"])
@require_role(*STAFF_ROLES)
@customer_orders_blp.arguments(PageQuerySchema, location="query")
@customer_orders_blp.response(200, OrderPageSchema)
def customer_order_history(args, customer_id):
    """A customer's orders, newest first."""
    return jsonify(
        _page(queries.customer_history(actor=current_user, customer_id=customer_id), args)
    )
