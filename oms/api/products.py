"""``/api/v1/products``."""

from __future__ import annotations

from oms.api.base import Blueprint

blp = Blueprint("products", __name__, description="Products")
