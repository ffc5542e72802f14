"""``/api/v1/orders``."""

from __future__ import annotations

from oms.api.base import Blueprint

blp = Blueprint("orders", __name__, description="Orders")
