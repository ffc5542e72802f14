"""``/api/v1/audit``: the audit log, for admins only."""

from __future__ import annotations

from oms.audit import service
from oms.audit.models import AuditEntry
from oms.audit.schemas import AuditEntrySchema, AuditQuerySchema
from oms.auth.access import require_role
from oms.auth.enums import UserRole
from oms.openapi import Blueprint
from oms.pagination import page_schema, paginate

blp = Blueprint("audit", __name__, description="The audit log (admins only)")


@blp.route("", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, page_schema(AuditEntrySchema, "AuditPage"))
def list_entries(args):
    """Entries newest first, filtered by entity, actor, action and time (keyset pages)."""
    filters = {
        key: args.get(key)
        for key in ("entity_type", "entity_id", "actor_id", "action", "created_from", "created_to")
    }
    page = paginate(
        service.get_all(**filters),
        args=args,
        sorts={"at": AuditEntry.at},
        default_sort="-at",
        id_column=AuditEntry.id,
    )
    return page.as_dict()
