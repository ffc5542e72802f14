"""Test data made through the services, so it obeys the same rules as real data."""

from __future__ import annotations

import itertools
from decimal import Decimal

from oms.auth import service as auth_service
from oms.auth.enums import UserRole
from oms.db import transaction
from oms.products.models import Product

PASSWORD = "correct-horse-1"
_counter = itertools.count(1)


def make_user(role: UserRole | str = UserRole.CUSTOMER, *, email: str | None = None, **fields):
    """A user of ``role`` whose password is ``PASSWORD``."""
    role = UserRole(role)
    n = next(_counter)
    return auth_service.create_user(
        email=email or f"{role.value}{n}@example.test",
        password=fields.pop("password", PASSWORD),
        role=role,
        first_name=fields.pop("first_name", role.value.title()),
        last_name=fields.pop("last_name", f"Number{n}"),
    )


def make_product(
    *, name: str | None = None, price: str = "10.00", stock: int = 10, active: bool = True
):
    with transaction() as session:
        product = Product(
            name=name or f"Product {next(_counter)}",
            price=Decimal(price),
            inventory_count=stock,
            active=active,
        )
        session.add(product)
    return product
