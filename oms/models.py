"""Imports every model so that Alembic and the mappers see the whole schema."""

from oms.audit.models import AuditEntry
from oms.auth.models import PasswordReset, RevokedToken, User
from oms.customers.models import Customer
from oms.exports.models import ExportJob
from oms.notifications.models import Notification
from oms.ops.models import DeadLetter
from oms.orders.models import IdempotencyKey, Order, OrderItem, OrderNote, OrderStatusHistory
from oms.outbox.models import OutboxMessage
from oms.products.models import Product
from oms.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AuditEntry",
    "Customer",
    "DeadLetter",
    "ExportJob",
    "IdempotencyKey",
    "Notification",
    "Order",
    "OrderItem",
    "OrderNote",
    "OrderStatusHistory",
    "OutboxMessage",
    "PasswordReset",
    "Product",
    "RevokedToken",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
