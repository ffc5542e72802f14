"""``/api/v1/customers``."""

from __future__ import annotations

from oms.api.base import Blueprint

blp = Blueprint("customers", __name__, description="Customers")
