"""The event catalogue: every event type the system publishes, its version and payload fields.

One list that the publisher (``oms.events`` refuses an event that is not in it, or whose fields
differ), the webhooks (what an endpoint may subscribe to, ``GET /api/v1/webhooks/event-types``)
and the README's table (checked against :func:`markdown_table` by a test) all read. Changing a
payload means changing it here; a change that breaks receivers raises the type's version.

Run ``python -m oms.event_catalogue`` to print the README table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENVELOPE = {
    "id": "the event's id (a UUID); the same for every endpoint and every retry",
    "type": "the event type",
    "version": "the payload version of this type",
    "at": "when it happened (ISO 8601, UTC)",
}


@dataclass(frozen=True)
class EventType:
    """One published event type.

    ``ordered_by`` names the field whose events a webhook endpoint receives in the order they
    happened (one order's events, one product's). ``webhook`` is False for events meant for one
    screen only (an export's progress bar, admin notices)."""

    name: str
    version: int
    summary: str
    fields: dict[str, str]
    optional: frozenset[str] = field(default_factory=frozenset)
    ordered_by: str | None = None
    webhook: bool = True


_ORDER_FIELDS = {
    "order_id": "the order's id",
    "number": "the order number (ORD-000123)",
    "customer_id": "the customer's id",
    "status": "the order's status",
    "total_amount": "the total, a decimal string",
    "actor": "the user id who made the change",
}

CATALOGUE: tuple[EventType, ...] = (
    EventType(
        "order.created",
        1,
        "A customer or staff member placed an order (status pending).",
        _ORDER_FIELDS,
        ordered_by="order_id",
    ),
    EventType(
        "order.updated",
        1,
        "An order's lines or address changed.",
        _ORDER_FIELDS,
        ordered_by="order_id",
    ),
    EventType(
        "order.status_changed",
        1,
        "An order moved through its lifecycle (placed, picked, shipped, delivered, ...).",
        {
            "order_id": "the order's id",
            "number": "the order number",
            "customer_id": "the customer's id",
            "old_status": "the status before",
            "new_status": "the status now",
            "actor": 'the user id, or "system" for the reservation worker',
            "notes": "the staff note, or null",
            "carrier": "the carrier code shipping recorded (OMS_CARRIERS), or null",
            "tracking_number": "the carrier's tracking number, or null",
            "tracking_url": "the carrier's tracking page for that number, or null",
        },
        ordered_by="order_id",
    ),
    EventType(
        "product.stock_changed",
        1,
        "A product's stock counters changed (restock, reservation, shipment, release).",
        {
            "product_id": "the product's id",
            "name": "the product name",
            "inventory_count": "units in the warehouse",
            "reserved_count": "units held by placed and picked orders",
            "available": "inventory_count - reserved_count",
            "active": "whether the product is on sale",
        },
        ordered_by="product_id",
    ),
    EventType(
        "product.availability",
        1,
        "What the order form shows of a product on sale (or just taken off sale).",
        {
            "product_id": "the product's id",
            "name": "the product name",
            "available": "units available",
            "active": "whether the product is on sale",
        },
        ordered_by="product_id",
    ),
    EventType(
        "inventory.low_stock",
        1,
        "A product's available units are at or below OMS_LOW_STOCK_THRESHOLD.",
        {
            "product_id": "the product's id",
            "name": "the product name",
            "available": "units available",
        },
        ordered_by="product_id",
    ),
    EventType(
        "export.progress",
        1,
        "An export's progress (the admin's progress bar; not sent to webhooks).",
        {
            "job_id": "the export job's id",
            "user_id": "the admin who asked",
            "rows_written": "rows so far",
            "total_rows": "rows expected, or null",
            "percent": "0-100, or null",
        },
        ordered_by="job_id",
        webhook=False,
    ),
    EventType(
        "export.finished",
        1,
        "An export job ended (finished, failed or cancelled).",
        {
            "job_id": "the export job's id",
            "user_id": "the admin who asked",
            "status": "finished, failed or cancelled",
            "rows_written": "rows in the file",
            "file_size": "bytes, or null",
        },
        ordered_by="job_id",
    ),
    EventType(
        "webhook.endpoint_disabled",
        1,
        "A webhook endpoint kept failing and was switched off (admins; not sent to webhooks).",
        {
            "endpoint_id": "the endpoint's id",
            "url": "the endpoint's URL",
            "reason": "why it was disabled",
        },
        webhook=False,
    ),
    EventType(
        "ops.stock_drift",
        1,
        "The stock reconciler found a product whose reserved_count is not the units of its "
        "placed and picked orders (admins' dashboards; webhooks may subscribe for alerting).",
        {
            "product_id": "the product's id",
            "name": "the product name",
            "reserved_count": "the counter as found",
            "expected_reserved": "the units its placed and picked orders hold",
            "inventory_count": "units in the warehouse",
            "repaired": "whether the counter was set to expected_reserved (OMS_RECONCILE_REPAIR)",
        },
        ordered_by="product_id",
    ),
)

BY_NAME: dict[str, EventType] = {event.name: event for event in CATALOGUE}
WEBHOOK_TYPES: tuple[str, ...] = tuple(event.name for event in CATALOGUE if event.webhook)


class UnknownEvent(ValueError):
    """An event published with a type or fields the catalogue does not list (a bug)."""


def check(event_type: str, fields: dict) -> EventType:
    """The catalogue entry of ``event_type``, refusing a type or fields it does not list."""
    entry = BY_NAME.get(event_type)
    if entry is None:
        raise UnknownEvent(f"{event_type} is not in oms/event_catalogue.py")
    names = set(fields) - {"at"}
    unknown = names - set(entry.fields)
    missing = set(entry.fields) - entry.optional - names
    if unknown or missing:
        raise UnknownEvent(
            f"{event_type}: fields {sorted(unknown)} not in the catalogue, "
            f"{sorted(missing)} missing"
        )
    return entry


def as_dict(entry: EventType) -> dict:
    """The JSON form of one entry (``GET /api/v1/webhooks/event-types``)."""
    return {
        "type": entry.name,
        "version": entry.version,
        "summary": entry.summary,
        "fields": [
            {"name": name, "description": text, "optional": name in entry.optional}
            for name, text in entry.fields.items()
        ],
        "webhook": entry.webhook,
    }


def markdown_table() -> str:
    """The README's table of event types (kept in step by a test)."""
    lines = [
        "| type | version | webhook | payload fields | when |",
        "| --- | --- | --- | --- | --- |",
    ]
    for entry in CATALOGUE:
        names = ", ".join(
            f"`{name}`" + (" (optional)" if name in entry.optional else "") for name in entry.fields
        )
        webhook = "yes" if entry.webhook else "no"
        lines.append(
            f"| `{entry.name}` | {entry.version} | {webhook} | {names} | {entry.summary} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
