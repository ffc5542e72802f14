"""The one role check used by every protected route."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask_jwt_extended import current_user, verify_jwt_in_request

from oms.auth.enums import UserRole
from oms.errors import AuthorizationError

STAFF_ROLES = (UserRole.STAFF, UserRole.ADMIN)
ALL_ROLES = tuple(UserRole)


def require_role(*roles: UserRole, refresh: bool = False) -> Callable:
    """Require a valid, unrevoked token of an active user whose role is one of ``roles``
    (any role when none are given). 401 without a valid token, 403 with the wrong role."""
    allowed = roles or ALL_ROLES

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request(refresh=refresh)
            if current_user.role not in allowed:
                raise AuthorizationError(
                    "Your role may not do this.",
                    details={
                        "required": [r.value for r in allowed],
                        "role": current_user.role.value,
                    },
                )
            return view(*args, **kwargs)

        # Read by oms.openapi to document the route's security and its 401/403.
        wrapper.access_rule = {  # type: ignore[attr-defined]
            "roles": [role.value for role in allowed],
            "roles_limited": set(allowed) != set(ALL_ROLES),
            "refresh": refresh,
        }
        return wrapper

    return decorator
