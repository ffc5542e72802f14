"""``/api/v1/webhooks``: webhook endpoints, their delivery logs and the event catalogue (admins
only)."""

from __future__ import annotations

from flask import request

from oms import event_catalogue
from oms.auth.access import require_role
from oms.auth.enums import UserRole
from oms.openapi import Blueprint
from oms.pagination import page_schema, paginate
from oms.webhooks import service
from oms.webhooks.models import WebhookDelivery, WebhookEndpoint
from oms.webhooks.schemas import (
    DeliveryListQuerySchema,
    DeliverySchema,
    EndpointCreateSchema,
    EndpointListQuerySchema,
    EndpointSchema,
    EndpointUpdateSchema,
    EndpointWithSecretSchema,
    EventTypeListSchema,
)

blp = Blueprint("webhooks", __name__, description="Webhook endpoints and deliveries (admins)")


def _own_hosts() -> frozenset[str]:
    """This system's names as the caller reached it: a webhook must not call the API."""
    host = request.host.lower()
    return frozenset({host, host.rsplit(":", 1)[0] if ":" in host else host})


@blp.route("/event-types", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.response(200, EventTypeListSchema)
def list_event_types():
    """The event catalogue: every type, its version and payload fields."""
    return {
        "envelope": event_catalogue.ENVELOPE,
        "items": [event_catalogue.as_dict(entry) for entry in event_catalogue.CATALOGUE],
    }


@blp.route("", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.arguments(EndpointListQuerySchema, location="query")
@blp.response(200, page_schema(EndpointSchema, "WebhookEndpointPage"))
def list_endpoints(args):
    """Every endpoint, newest first."""
    return paginate(
        service.get_all(),
        args=args,
        sorts={"created_at": WebhookEndpoint.created_at},
        default_sort="-created_at",
        id_column=WebhookEndpoint.id,
    ).as_dict()


@blp.route("", methods=["POST"])
@require_role(UserRole.ADMIN)
@blp.arguments(EndpointCreateSchema)
@blp.response(201, EndpointWithSecretSchema)
def create_endpoint(body):
    """Register an endpoint; the answer holds its secret, shown this once."""
    return service.create(**body, own_hosts=_own_hosts())


@blp.route("/<uuid:endpoint_id>", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.response(200, EndpointSchema)
def get_endpoint(endpoint_id):
    """One endpoint."""
    return service.get(endpoint_id=endpoint_id)


@blp.route("/<uuid:endpoint_id>", methods=["PATCH"])
@require_role(UserRole.ADMIN)
@blp.arguments(EndpointUpdateSchema)
@blp.response(200, EndpointSchema)
def update_endpoint(body, endpoint_id):
    """Change the URL, the event types, the description or the active flag."""
    return service.update(endpoint_id=endpoint_id, **body, own_hosts=_own_hosts())


@blp.route("/<uuid:endpoint_id>", methods=["DELETE"])
@require_role(UserRole.ADMIN)
@blp.response(204)
def delete_endpoint(endpoint_id):
    """Remove an endpoint and its delivery log."""
    service.delete(endpoint_id=endpoint_id)


@blp.route("/<uuid:endpoint_id>/rotate-secret", methods=["POST"])
@require_role(UserRole.ADMIN)
@blp.response(200, EndpointWithSecretSchema)
def rotate_secret(endpoint_id):
    """A new secret for the endpoint (shown this once); the old one stops at once."""
    return service.rotate_secret(endpoint_id=endpoint_id)


@blp.route("/<uuid:endpoint_id>/deliveries", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.arguments(DeliveryListQuerySchema, location="query")
@blp.response(200, page_schema(DeliverySchema, "WebhookDeliveryPage"))
def list_deliveries(args, endpoint_id):
    """The endpoint's delivery log, newest first, each with its attempts."""
    return paginate(
        service.deliveries(endpoint_id=endpoint_id),
        args=args,
        sorts={"created_at": WebhookDelivery.created_at},
        default_sort="-created_at",
        id_column=WebhookDelivery.id,
    ).as_dict()


@blp.route("/<uuid:endpoint_id>/deliveries/<int:delivery_id>/resend", methods=["POST"])
@require_role(UserRole.ADMIN)
@blp.response(202, DeliverySchema)
def resend_delivery(endpoint_id, delivery_id):
    """Send a delivery's event again (a new delivery with the same event id)."""
    return service.resend(endpoint_id=endpoint_id, delivery_id=delivery_id)
