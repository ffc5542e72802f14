"""Request and response schemas of the exports API."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for

from oms.exports.enums import ExportStatus
from oms.orders.schemas import OrderListQuerySchema
from oms.schemas import Boolean, QueryBoolean, StrictSchema


class OrderExportFiltersSchema(OrderListQuerySchema):
    """The filters of ``GET /api/v1/orders`` (the same fields, the same validation), without
    paging and sort: an export has every matching order, oldest first. Paging fields are
    unknown here, so they are a 422."""

    class Meta(StrictSchema.Meta):
        exclude = ("limit", "cursor", "sort")


class DirectExportQuerySchema(OrderExportFiltersSchema):
    """``GET /api/v1/reports/orders/export``: the filters, and one row per order line."""

    per_line = QueryBoolean(load_default=False, metadata={"description": "One row per order line"})


class ExportFiltersBodySchema(OrderExportFiltersSchema):
    """The filters as a JSON object (the body of ``POST /api/v1/reports/exports``, a job's
    stored filters): the list's query booleans are JSON booleans here."""

    payment_collected = Boolean()
    problem = Boolean(
        metadata={"description": "Rejected, or pending for longer than 10 minutes (or not)"}
    )


class ExportCreateSchema(ExportFiltersBodySchema):
    """``POST /api/v1/reports/exports``: the filters of the order listing, plus the shape of
    the file."""

    per_line = Boolean(
        load_default=False,
        metadata={"description": "One row per order line (product, quantity, prices)"},
    )
    gzip = Boolean(load_default=False, metadata={"description": "Gzip the CSV file"})


def _download_url(job) -> str | None:
    if job.status != ExportStatus.FINISHED:
        return None
    return url_for("reports.download_export", job_id=job.id)


class ExportJobSchema(ma.Schema):
    """An export job: its status and progress; ``download_url`` once finished."""

    id = ma.fields.UUID()
    status = ma.fields.Enum(ExportStatus, by_value=True)
    filters = ma.fields.Dict()
    per_line = ma.fields.Boolean()
    gzip = ma.fields.Boolean()
    rows_written = ma.fields.Integer()
    total_rows = ma.fields.Integer(allow_none=True)
    percent = ma.fields.Integer()
    attempts = ma.fields.Integer()
    file_name = ma.fields.String(allow_none=True)
    file_size = ma.fields.Integer(allow_none=True)
    error = ma.fields.String(allow_none=True)
    download_url = ma.fields.Function(_download_url, allow_none=True)
    created_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    heartbeat_at = ma.fields.DateTime(allow_none=True)
