"""Roles a user can hold."""

from enum import StrEnum


class UserRole(StrEnum):
    """What a user may do; checked on every route."""

    CUSTOMER = "customer"  # places and follows their own orders
    STAFF = "staff"  # advances orders, manages customers and products
    ADMIN = "admin"  # everything staff can, plus deletes, exports, user management

    @property
    def is_staff(self) -> bool:
        """Staff and admins: they work on every order, customer and product."""
        return self in (UserRole.STAFF, UserRole.ADMIN)
