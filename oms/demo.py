"""Demo data for ``make run``: three logins and a small catalogue with stock."""

from __future__ import annotations

from decimal import Decimal

from oms.auth import service as auth_service
from oms.auth.enums import UserRole
from oms.db import transaction
from oms.products.models import Product

LOGINS = [
    ("admin@example.com", "admin-pass-123", UserRole.ADMIN.value),
    ("staff@example.com", "staff-pass-123", UserRole.STAFF.value),
    ("customer@example.com", "customer-pass-123", UserRole.CUSTOMER.value),
]

CATALOGUE = [
    ("Espresso beans 1 kg", "Dark roast, whole beans.", "24.90", 120),
    ("Filter coffee 500 g", "Medium roast, ground for filter.", "11.50", 200),
    ("Ceramic mug", "350 ml, dishwasher safe.", "9.00", 80),
    ("Pour-over kettle", "Gooseneck, 1 l, stainless steel.", "39.00", 25),
    ("Burr grinder", "Conical burrs, 40 settings.", "129.00", 12),
    ("Paper filters (100)", "Size 02, unbleached.", "4.20", 500),
    ("Milk frother", "Handheld, battery powered.", "15.75", 40),
    ("Travel tumbler", "Insulated, 450 ml.", "22.00", 3),
]


def load() -> bool:
    """Create the demo users and catalogue unless the admin already exists."""
    if auth_service.get_by_email(email=LOGINS[0][0]) is not None:
        return False
    names = {
        UserRole.ADMIN.value: ("Ada", "Admin"),
        UserRole.STAFF.value: ("Sam", "Staff"),
        UserRole.CUSTOMER.value: ("Casey", "Customer"),
    }
    for email, password, role in LOGINS:
        first, last = names[role]
        auth_service.create_user(
            email=email, password=password, role=UserRole(role), first_name=first, last_name=last
        )
    with transaction() as session:
        for name, description, price, stock in CATALOGUE:
            session.add(
                Product(
                    name=name, description=description, price=Decimal(price), inventory_count=stock
                )
            )
    return True
