"""``/api/v1/users``: user management, for admins only."""

from __future__ import annotations

from flask_jwt_extended import current_user

from oms.auth import service
from oms.auth.access import require_role
from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.auth.schemas import UserCreateSchema, UserListQuerySchema, UserSchema, UserUpdateSchema
from oms.openapi import Blueprint
from oms.pagination import page_schema, paginate

blp = Blueprint("users", __name__, description="User accounts (admins only)")

SORTS = {"created_at": User.created_at, "email": User.email}


@blp.route("", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.arguments(UserListQuerySchema, location="query")
@blp.response(200, page_schema(UserSchema, "UserPage"))
def list_users(args):
    """Every user, newest first; filter by role or search email and name with ``q``."""
    page = paginate(
        service.get_all(role=args.get("role"), q=args.get("q")),
        args=args,
        sorts=SORTS,
        default_sort="-created_at",
        id_column=User.id,
    )
    return page.as_dict()


@blp.route("", methods=["POST"])
@require_role(UserRole.ADMIN)
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
def create_user(body):
    """Create a user of any role."""
    return service.create_user(**body)


@blp.route("/<uuid:user_id>", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.response(200, UserSchema)
def get_user(user_id):
    """One user."""
    return service.get(user_id=user_id)


@blp.route("/<uuid:user_id>", methods=["PATCH"])
@require_role(UserRole.ADMIN)
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
def update_user(body, user_id):
    """Change a user's role, activity or name."""
    return service.update(user_id=user_id, actor=current_user, **body)
