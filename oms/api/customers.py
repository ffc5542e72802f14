"""``/api/v1/customers``: customer records, for staff and admins (only admins delete)."""

from __future__ import annotations

from oms.auth.access import STAFF_ROLES, require_role
from oms.auth.enums import UserRole
from oms.customers import service
from oms.customers.models import Customer
from oms.customers.schemas import (
    CustomerCreateSchema,
    CustomerListQuerySchema,
    CustomerSchema,
    CustomerUpdateSchema,
)
from oms.openapi import Blueprint
from oms.pagination import page_schema, paginate

blp = Blueprint("customers", __name__, description="Customer records (staff and admins)")

SORTS = {
    "created_at": Customer.created_at,
    "last_name": Customer.last_name,
    "email": Customer.email,
}


@blp.route("", methods=["GET"])
@require_role(*STAFF_ROLES)
@blp.arguments(CustomerListQuerySchema, location="query")
@blp.response(200, page_schema(CustomerSchema, "CustomerPage"))
def list_customers(args):
    """Customers, newest first; ``q`` searches name words and any part of the email."""
    page = paginate(
        service.get_all(q=args.get("q")),
        args=args,
        sorts=SORTS,
        default_sort="-created_at",
        id_column=Customer.id,
    )
    return page.as_dict()


@blp.route("", methods=["POST"])
@require_role(*STAFF_ROLES)
@blp.arguments(CustomerCreateSchema)
@blp.response(201, CustomerSchema)
@blp.alt_response(409, description="The email is taken")
def create_customer(body):
    """Create a customer record (without a login)."""
    return service.create(**body)


@blp.route("/<uuid:customer_id>", methods=["GET"])
@require_role(*STAFF_ROLES)
@blp.response(200, CustomerSchema)
def get_customer(customer_id):
    """One customer."""
    return service.get(customer_id=customer_id)


@blp.route("/<uuid:customer_id>", methods=["PUT"])
@require_role(*STAFF_ROLES)
@blp.arguments(CustomerUpdateSchema)
@blp.response(200, CustomerSchema)
@blp.alt_response(409, description="The new email is taken")
def update_customer(body, customer_id):
    """Change some of email, names, phone and address."""
    return service.update(customer_id=customer_id, **body)


@blp.route("/<uuid:customer_id>", methods=["DELETE"])
@require_role(UserRole.ADMIN)
@blp.response(204, description="Removed, or anonymised when the customer has closed orders")
@blp.alt_response(409, description="The customer has open orders")
def delete_customer(customer_id):
    """Delete a customer: removed without orders, anonymised with only closed orders."""
    service.delete(customer_id=customer_id)
