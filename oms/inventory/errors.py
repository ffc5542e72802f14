"""Named errors of the inventory domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from oms.errors import ConflictError


@dataclass(frozen=True)
class Shortage:
    """Why a line cannot be reserved."""

    product_id: uuid.UUID
    name: str
    wanted: int
    available: int

    def describe(self) -> str:
        """The shortage in words, for the rejection note and the 409."""
        return (
            f"Not enough stock for {self.name}: {self.wanted} wanted, {self.available} available."
        )

    def as_dict(self) -> dict:
        """The shortage for the 409's details."""
        return {
            "product_id": str(self.product_id),
            "name": self.name,
            "wanted": self.wanted,
            "available": self.available,
        }


class InsufficientStock(ConflictError):
    """Some lines ask for more than is available; details list each shortage."""

    code = "insufficient_stock"

    def __init__(self, shortages: list[Shortage]):
        super().__init__(
            " ".join(s.describe() for s in shortages),
            details={"shortages": [s.as_dict() for s in shortages]},
        )
        self.shortages = shortages
