"""Named errors of the products domain."""

from __future__ import annotations

from oms.errors import ConflictError


class StockBelowReserved(ConflictError):
    """On-hand stock may not fall below the units reserved for open orders."""

    code = "stock_below_reserved"

    def __init__(self, *, reserved: int, requested: int) -> None:
        super().__init__(
            "The stock cannot be set below the units reserved for open orders.",
            details={"reserved_count": reserved, "requested": requested},
        )
