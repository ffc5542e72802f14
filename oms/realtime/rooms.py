"""Which rooms a user sits in, and which rooms an event goes to. The one place that decides
who hears what."""

from __future__ import annotations

from oms.auth.enums import UserRole
from oms.auth.models import User

STAFF_ROOM = "staff"  # staff and admins: every order and stock event
CATALOGUE_ROOM = "catalogue"  # everyone logged in: availability of products on sale
ADMIN_ROOM = "admin"  # admins: notices about the system itself (webhooks disabled, drift)


def customer_room(customer_id: str) -> str:
    """The Socket.IO room of every live connection of one customer."""
    return f"customer:{customer_id}"


def user_room(user_id: str) -> str:
    """The Socket.IO room of every live connection of one user."""
    return f"user:{user_id}"


def rooms_for_user(user: User) -> set[str]:
    """The rooms a connection of ``user`` joins; a client cannot ask for others."""
    rooms = {user_room(str(user.id)), CATALOGUE_ROOM}
    if user.role in (UserRole.STAFF, UserRole.ADMIN):
        rooms.add(STAFF_ROOM)
        if user.role == UserRole.ADMIN:
            rooms.add(ADMIN_ROOM)
    elif user.customer is not None:
        rooms.add(customer_room(str(user.customer.id)))
    return rooms


def rooms_for_event(event: dict) -> set[str]:
    """The rooms that may see ``event``: order events go to staff and the order's customer,
    availability of products on sale to everyone, stock counters and low-stock warnings to
    staff, exports to the admin who asked, notices about the system to admins."""
    kind = event["type"]
    if kind.startswith("order."):
        return {STAFF_ROOM, customer_room(event["customer_id"])}
    if kind == "product.availability":
        return {CATALOGUE_ROOM}
    if kind.startswith("export."):
        return {user_room(event["user_id"])}
    if kind.startswith(("webhook.", "ops.")):
        return {ADMIN_ROOM}
    return {STAFF_ROOM}
