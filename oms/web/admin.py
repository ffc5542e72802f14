"""The admin dashboard: every order (filters in the query string), CSV exports, analytics,
user management, the audit log, stuck work (problems) and worker health."""

from __future__ import annotations

from flask import Blueprint, render_template

from oms.audit.service import ENTITY_TYPES
from oms.auth.enums import UserRole
from oms.orders.enums import OrderStatus
from oms.web.guard import page
from oms.web.staff import pick_list_url

blp = Blueprint("admin", __name__)


@blp.get("")
@page(UserRole.ADMIN)
def orders():
    """Every order in the live table (as on /staff/orders), plus CSV exports."""
    return render_template(
        "admin/orders.html", statuses=list(OrderStatus), pick_list_url=pick_list_url()
    )


@blp.get("/analytics")
@page(UserRole.ADMIN)
def analytics():
    """Charts: orders and revenue per day, by status, delivery time, top products, low stock."""
    return render_template("admin/analytics.html")


@blp.get("/users")
@page(UserRole.ADMIN)
def users():
    """Create staff and admin accounts, change roles, deactivate accounts."""
    return render_template("admin/users.html", roles=list(UserRole))


@blp.get("/webhooks")
@page(UserRole.ADMIN)
def webhooks():
    """Webhook endpoints: register, switch on and off, rotate secrets, read and resend
    deliveries."""
    from oms.event_catalogue import BY_NAME, WEBHOOK_TYPES

    return render_template(
        "admin/webhooks.html", event_types=[BY_NAME[name] for name in WEBHOOK_TYPES]
    )


@blp.get("/audit")
@page(UserRole.ADMIN)
def audit():
    """The audit log; its filters live in the query string, so an entity's history is a link
    (``?entity_type=product&entity_id=...``)."""
    return render_template("admin/audit.html", entity_types=ENTITY_TYPES)


@blp.get("/problems")
@page(UserRole.ADMIN)
def problems():
    """Stuck work (orders pending too long, unsent tasks and emails, failed exports, exhausted
    webhook deliveries, dead letters), each with a Replay button."""
    return render_template("admin/problems.html")


@blp.get("/workers")
@page(UserRole.ADMIN)
def workers():
    """The Celery workers, queue depths and task outcomes, refreshed by the page; stock drift
    live; a link to Flower."""
    return render_template("admin/workers.html")
