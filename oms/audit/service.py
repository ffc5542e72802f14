"""Write audit entries inside the transaction of the change (a rolled-back change leaves no
entry, a committed one always has its entry), and read them back for admins.

Who and which request come from the request context (the logged-in user the token named,
``g.request_id``); work outside a request (a Celery task, the CLI) is the ``system``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context, request

from oms.audit.models import AuditEntry
from oms.extensions import db

PRODUCT_FIELDS = ("name", "description", "price", "inventory_count", "active")
CUSTOMER_FIELDS = ("email", "first_name", "last_name", "phone", "address", "user_id")
USER_FIELDS = ("email", "first_name", "last_name", "role", "is_active")
ENTITY_TYPES = ("product", "customer", "user", "problem")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict:
    """The audited fields of ``obj`` as JSON values."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def _actor() -> tuple[uuid.UUID | None, str | None, str | None, str | None]:
    if not has_request_context():
        return None, None, None, None
    actor_id = g.get("current_user_id")
    email = g.get("current_user_email")
    return actor_id, email, g.get("request_id"), request.remote_addr


def record(
    action: str,
    *,
    entity_type: str,
    entity_id: uuid.UUID | None,
    before: dict | None = None,
    after: dict | None = None,
    actor_id: uuid.UUID | None = None,
    actor_email: str | None = None,
) -> AuditEntry:
    """Add one entry to the current transaction (the caller's ``transaction()`` commits it)."""
    who, who_email, request_id, address = _actor()
    entry = AuditEntry(
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
        actor_id=actor_id or who,
        actor_email=actor_email or who_email,
        request_id=request_id,
        remote_addr=address,
    )
    db.session.add(entry)
    return entry


def record_change(
    action: str, *, entity_type: str, entity_id: uuid.UUID, before: dict, after: dict
) -> AuditEntry | None:
    """An entry with only the fields that changed (none changed: no entry)."""
    changed = [name for name in after if before.get(name) != after[name]]
    if not changed:
        return None
    return record(
        action,
        entity_type=entity_type,
        entity_id=entity_id,
        before={name: before.get(name) for name in changed},
        after={name: after[name] for name in changed},
    )


def get_all(
    *,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> sa.Select:
    """Entries matching the filters (a query to page, newest first by default)."""
    query = sa.select(AuditEntry)
    if entity_type is not None:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if created_from is not None:
        query = query.where(AuditEntry.at >= created_from)
    if created_to is not None:
        query = query.where(AuditEntry.at < created_to)
    return query
