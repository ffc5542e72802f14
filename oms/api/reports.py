"""``/api/v1/reports``: order exports, for admins only.

Large exports are queued (``/exports``): a worker writes the file and reports progress over
Socket.IO (``export.progress``, ``export.finished``), and the admin downloads it when
finished. ``/orders/export`` streams a CSV straight into the response for smaller ones.
"""

from __future__ import annotations

from flask import Response, send_file, url_for
from flask_jwt_extended import current_user

from oms.auth.access import require_role
from oms.auth.enums import UserRole
from oms.exports import service as exports
from oms.exports.models import ExportJob
from oms.exports.schemas import DirectExportQuerySchema, ExportCreateSchema, ExportJobSchema
from oms.openapi import Blueprint
from oms.pagination import PageQuerySchema, page_schema, paginate
from oms.schemas import ErrorSchema

blp = Blueprint("reports", __name__, description="Order exports (admins only)")

CSV_MIMETYPE = "text/csv; charset=utf-8"
GZIP_MIMETYPE = "application/gzip"


def _attachment(name: str) -> dict:
    return {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


@blp.route("/exports", methods=["POST"])
@require_role(UserRole.ADMIN)
@blp.arguments(ExportCreateSchema)
@blp.response(202, ExportJobSchema)
def create_export(body):
    """Queue an export of the orders matching the filters of `GET /api/v1/orders` (without
    `limit`, `cursor`, `sort`); `per_line` gives one row per order line, `gzip` a gzipped
    file. Progress arrives over Socket.IO as `export.progress` and `export.finished`."""
    per_line, gzip = body.pop("per_line"), body.pop("gzip")
    job = exports.create(actor=current_user, filters=body, per_line=per_line, gzip=gzip)
    return job, 202, {"Location": url_for("reports.get_export", job_id=job.id)}


@blp.route("/exports", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_schema(ExportJobSchema, "ExportJobPage"))
def list_exports(args):
    """The caller's exports, newest first."""
    page = paginate(
        exports.get_all(actor=current_user),
        args=args,
        sorts={"created_at": ExportJob.created_at},
        default_sort="-created_at",
        id_column=ExportJob.id,
    )
    return page.as_dict()


@blp.route("/exports/<uuid:job_id>", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.response(200, ExportJobSchema)
def get_export(job_id):
    """One export: status, rows written, progress, and `download_url` once finished."""
    return exports.get(job_id=job_id, actor=current_user)


@blp.route("/exports/<uuid:job_id>/download", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.response(200, content_type="text/csv", description="The CSV file (or gzipped CSV)")
@blp.alt_response(409, schema=ErrorSchema, description="The export is not finished")
def download_export(job_id):
    """The finished file; an export that is not finished is a 409."""
    path, job = exports.file_for_download(job_id=job_id, actor=current_user)
    response = send_file(
        path,
        mimetype=GZIP_MIMETYPE if job.gzip else CSV_MIMETYPE,
        as_attachment=True,
        download_name=job.file_name,
        conditional=True,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route("/exports/<uuid:job_id>", methods=["DELETE"])
@require_role(UserRole.ADMIN)
@blp.response(204)
def delete_export(job_id):
    """Cancel a queued or running export (it stays, cancelled), or remove a finished,
    failed or cancelled one with its file."""
    exports.delete(job_id=job_id, actor=current_user)
    return None


@blp.route("/orders/export", methods=["GET"])
@require_role(UserRole.ADMIN)
@blp.arguments(DirectExportQuerySchema, location="query")
@blp.response(200, content_type="text/csv", description="The CSV, streamed as it is read")
def stream_orders_export(args):
    """The orders matching the filters of `GET /api/v1/orders` as CSV, streamed as they are
    read (memory holds one batch of rows); `per_line` gives one row per order line. For large
    exports, queue one with `POST /api/v1/reports/exports` instead."""
    per_line = args.pop("per_line")
    name, chunks = exports.stream_orders(actor=current_user, filters=args, per_line=per_line)
    # the proxy passes it on as it comes instead of buffering it (deploy/nginx.conf)
    headers = {**_attachment(name), "X-Accel-Buffering": "no"}
    return Response(chunks, mimetype=CSV_MIMETYPE, headers=headers)
