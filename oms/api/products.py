"""``/api/v1/products``: the catalogue.

Every logged-in role may read it; customers see only active products and no stock counts
(:class:`~oms.products.schemas.PublicProductSchema`), staff and admins see everything
(:class:`~oms.products.schemas.ProductSchema`). Staff and admins change products; only admins
delete them.
"""

from __future__ import annotations

from flask import jsonify
from flask_jwt_extended import current_user

from oms.auth.access import STAFF_ROLES, require_role
from oms.auth.enums import UserRole
from oms.openapi import Blueprint
from oms.pagination import page_schema, paginate
from oms.products import service
from oms.products.models import Product
from oms.products.schemas import (
    ProductCreateSchema,
    ProductListQuerySchema,
    ProductSchema,
    ProductUpdateSchema,
    PublicProductSchema,
)

blp = Blueprint("products", __name__, description="Products and their stock")

SORTS = {"name": Product.name, "price": Product.price, "created_at": Product.created_at}

ProductPageSchema = page_schema(ProductSchema, "ProductPage")
PublicProductPageSchema = page_schema(PublicProductSchema, "PublicProductPage")

_ROLE_VIEW = (
    "Staff and admins get every field; customers get only id, name, description, price, "
    "available and active."
)


def _is_staff() -> bool:
    return current_user.role in STAFF_ROLES


def _render(product: Product):
    """The product in the view of the caller's role (the documented schema is the staff one)."""
    schema = ProductSchema() if _is_staff() else PublicProductSchema()
    return jsonify(schema.dump(product))


@blp.route("", methods=["GET"])
@require_role()
@blp.arguments(ProductListQuerySchema, location="query")
@blp.response(200, ProductPageSchema, description=_ROLE_VIEW)
def list_products(args):
    """Products by name; filter by ``q`` (name words), ``active`` and ``low_stock``."""
    query = service.get_all(
        q=args.get("q"),
        active=args.get("active"),
        low_stock=args.get("low_stock"),
        active_only=not _is_staff(),
    )
    page = paginate(
        query,
        args=args,
        sorts=SORTS,
        default_sort="name",
        id_column=Product.id,
    )
    schema = ProductPageSchema() if _is_staff() else PublicProductPageSchema()
    return jsonify(schema.dump(page.as_dict()))


@blp.route("", methods=["POST"])
@require_role(*STAFF_ROLES)
@blp.arguments(
    ProductCreateSchema,
    example={"name": "Burr grinder", "price": "89.00", "inventory_count": 12, "active": True},
)
@blp.response(201, ProductSchema)
def create_product(body):
    """Create a product with its initial stock."""
    return service.create(**body)


@blp.route("/<uuid:product_id>", methods=["GET"])
@require_role()
@blp.response(200, ProductSchema, description=_ROLE_VIEW)
def get_product(product_id):
    """One product; an inactive product does not exist for customers."""
    return _render(service.get(product_id=product_id, active_only=not _is_staff()))


@blp.route("/<uuid:product_id>", methods=["PUT"])
@require_role(*STAFF_ROLES)
@blp.arguments(ProductUpdateSchema)
@blp.response(200, ProductSchema)
@blp.alt_response(409, description="The stock would fall below the reserved units")
def update_product(body, product_id):
    """Change some of name, description, price, stock and activity."""
    return service.update(product_id=product_id, **body)


@blp.route("/<uuid:product_id>", methods=["DELETE"])
@require_role(UserRole.ADMIN)
@blp.response(204, description="The product was removed")
@blp.alt_response(
    200, schema=ProductSchema, success=True, description="It is on orders: deactivated instead"
)
def delete_product(product_id):
    """Remove a product; one that appears on orders is deactivated instead (200 with it)."""
    product = service.delete(product_id=product_id)
    if product is None:
        return None
    return _render(product)
