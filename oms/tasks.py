"""Every Celery task's name and queue: the one registry the outbox, the routes and the beat
schedule in ``celery_config``, the workers and the tests read.

Names are ``<domain>.<verb>_<noun>``. A task sent by name is found by that name on the worker,
so a rename must drain the queues (and the outbox) of the old name first.
"""

from __future__ import annotations

RESERVE_ORDER = "inventory.reserve_order"
RESERVE_PENDING_ORDERS = "inventory.reserve_pending_orders"
SEND_ORDER_STATUS = "notifications.send_order_status"
RESEND_UNSENT = "notifications.resend_unsent"
SEND_ACCOUNT_EMAIL = "notifications.send_account_email"
EXPORT_ORDERS = "reports.export_orders"
RECOVER_STALE_EXPORTS = "reports.recover_stale_exports"
PURGE_EXPORTS = "reports.purge_exports"
RELAY_OUTBOX = "outbox.relay_messages"
PURGE_EXPIRED = "maintenance.purge_expired"
SEND_WEBHOOK = "webhooks.send_delivery"
SEND_DUE_WEBHOOKS = "webhooks.send_due_deliveries"
RECONCILE_STOCK = "ops.reconcile_stock"

# One queue per kind of work, so a flood of exports never delays reservations; housekeeping
# never waits behind long exports; a slow webhook receiver delays only other webhooks.
QUEUES = ("orders", "notifications", "reports", "maintenance", "webhooks")
QUEUE_OF = {
    RESERVE_ORDER: "orders",
    RESERVE_PENDING_ORDERS: "orders",
    SEND_ORDER_STATUS: "notifications",
    RESEND_UNSENT: "maintenance",
    SEND_ACCOUNT_EMAIL: "notifications",
    EXPORT_ORDERS: "reports",
    RECOVER_STALE_EXPORTS: "maintenance",
    PURGE_EXPORTS: "maintenance",
    RELAY_OUTBOX: "maintenance",
    PURGE_EXPIRED: "maintenance",
    SEND_WEBHOOK: "webhooks",
    SEND_DUE_WEBHOOKS: "webhooks",
    RECONCILE_STOCK: "maintenance",
}
