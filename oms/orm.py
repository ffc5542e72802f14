"""The base class of every model: ``db.Model`` at run time, the typed declarative base for mypy.

Flask-SQLAlchemy builds ``db.Model`` at run time from ``Base`` (oms/extensions.py), so a type
checker cannot see it as a class; the models subclass :data:`Model` instead, and their
``Mapped[...]`` columns are checked the SQLAlchemy 2 way, without a plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oms.extensions import db

if TYPE_CHECKING:
    from oms.extensions import Base as Model
else:
    Model = db.Model

__all__ = ["Model"]
