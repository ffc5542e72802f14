"""Demo data for ``make run``: three logins, a catalogue, customers and a month of orders.

What ``load()`` writes, in one transaction, once (a second run sees the admin and does nothing):

- the three logins of the README; the customer login's record gets a phone and an address;
- twenty more customers in nine countries, every one with an address (records without logins,
  whose orders staff take by phone or email);
- twelve products, a few of them (the scarce burr grinder and travel tumbler among them) low
  on stock at the end;
- about 300 orders from the last 29 days in every status, numbered by
  ``oms.orders.actions.next_number()`` in the order they arrived, lines priced from the
  catalogue, shipped to the customer's address, with one status-history row per transition.

How the orders come about: a small simulation replays the month in time order, drawing from
a seeded random generator, so every load gives the same data (shifted to the moment of
loading) and screenshots stay stable. Orders arrive (only for what is available then, as
``place_order`` refuses obvious shortages); the system reserves them seconds later, or rejects
them with the worker's reason when the stock went in the meantime; staff pick, ship and deliver
them over the following hours and days; some are cancelled, by staff or by their customer;
weekly deliveries top the shelves up. Steps not due yet at the moment of loading have not
happened, which leaves the most recent orders placed, picked or shipped. Scarce products get a
few small deliveries, each followed by a rush of orders that arrive before the reservation
worker gets to them: when the rush outnumbers the delivery, the first come are placed and the
rest rejected, as in a flash sale.

Every transition is asked of the lifecycle machine (``workflows.order_lifecycle.apply``) and
every stock move uses ``oms.inventory.service``, so the invariants hold by construction:
``reserved_count`` is the units of the placed and picked orders, shipped and delivered units
have left ``inventory_count``, and ``0 <= reserved_count <= inventory_count``.

Nothing goes through the outbox or the event publisher: the history is seed data, and
relaying it would send some 300 customer emails. The five newest orders (minutes old) are
left ``pending`` with no reservation task queued. On the embedded default nothing sweeps
pending orders, so they stay as examples of received orders, which staff may cancel; where
beat runs (``make stack``, production), its pending sweep reserves them within
``OMS_PENDING_SWEEP_SECONDS`` like any order whose task was lost, and their customers get
the usual emails.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

import sqlalchemy as sa

from oms.auth import service as auth_service
from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.customers import service as customers_service
from oms.customers.models import Customer
from oms.db import transaction, utcnow
from oms.inventory import service as inventory
from oms.orders.actions import next_number
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderItem, OrderStatusHistory
from oms.products.models import Product
from workflows.order_lifecycle import apply

SEED = 20240912
CENT = Decimal("0.01")

LOGINS = [
    ("admin@example.com", "admin-pass-123", UserRole.ADMIN.value),
    ("staff@example.com", "staff-pass-123", UserRole.STAFF.value),
    ("customer@example.com", "customer-pass-123", UserRole.CUSTOMER.value),
]
LOGIN_NAMES = {
    UserRole.ADMIN.value: ("Ada", "Admin"),
    UserRole.STAFF.value: ("Sam", "Staff"),
    UserRole.CUSTOMER.value: ("Casey", "Customer"),
}

# name, description, price, stock kept on the shelf (weekly top-up), popularity
CATALOGUE = [
    ("Espresso beans 1 kg", "Dark roast, whole beans.", "24.90", 100, 10),
    ("Filter coffee 500 g", "Medium roast, ground for filter.", "11.50", 110, 9),
    ("Ceramic mug", "350 ml, dishwasher safe.", "9.00", 60, 6),
    ("Pour-over kettle", "Gooseneck, 1 l, stainless steel.", "39.00", 16, 4),
    ("Burr grinder", "Conical burrs, 40 settings.", "129.00", 3, 1),
    ("Paper filters (100)", "Size 02, unbleached.", "4.20", 200, 8),
    ("Milk frother", "Handheld, battery powered.", "15.75", 40, 4),
    ("Travel tumbler", "Insulated, 450 ml.", "22.00", 2, 1),
    ("Decaf beans 500 g", "Swiss water process, whole beans.", "13.80", 45, 4),
    ("Cold brew bottle", "1 l glass bottle with a mesh filter.", "18.50", 30, 3),
    ("Descaling tablets (10)", "For kettles and espresso machines.", "7.90", 80, 3),
    ("Espresso cups (set of 2)", "Double-walled glass, 80 ml.", "14.00", 36, 3),
]
# Products the supplier sends a few at a time (no weekly top-up): units, days ago, buyers
SCARCE_DELIVERIES = [
    ("Burr grinder", 4, 24.3, 6),
    ("Travel tumbler", 3, 18.4, 5),
    ("Burr grinder", 4, 12.6, 6),
    ("Travel tumbler", 3, 6.7, 5),
    ("Burr grinder", 3, 3.2, 5),
    ("Travel tumbler", 5, 0.8, 2),
]
BULK_ITEMS = {"Paper filters (100)", "Descaling tablets (10)", "Filter coffee 500 g"}

# first name | last name | email (at example.com) | phone | street | postal code | city | country
CUSTOMERS = [
    line.split(" | ")
    for line in """\
Ingrid | Solberg | ingrid.solberg | +47 412 55 019 | Bryggen 9 | 5003 | Bergen | NO
Emma | Nilsen | emma.nilsen | +47 934 20 118 | Thorvald Meyers gate 30 | 0555 | Oslo | NO
Jonas | Weber | jonas.weber | +49 30 2291 4470 | Torstraße 88 | 10119 | Berlin | DE
Felix | Bauer | felix.bauer | +49 30 8812 0934 | Oranienstraße 17 | 10999 | Berlin | DE
Mia | Schröder | mia.schroeder | +49 40 3190 2275 | Schanzenstraße 41 | 20357 | Hamburg | DE
Lukas | Huber | lukas.huber | +49 89 2024 7781 | Leopoldstraße 25 | 80802 | München | DE
Beatriz | Costa | beatriz.costa | +351 21 342 7710 | Rua da Prata 101 | 1100-414 | Lisboa | PT
Tiago | Ferreira | tiago.ferreira | +351 22 208 3391 | Rua Passos Manuel 20 | 4000-442 | Porto | PT
Sanne | de Vries | sanne.devries | +31 20 624 1187 | Prinsengracht 263 | 1016 GV | Amsterdam | NL
Daan | Bakker | daan.bakker | +31 10 413 9025 | Witte de Withstraat 50 | 3012 BR | Rotterdam | NL
Claire | Dubois | claire.dubois | +33 1 43 57 21 88 | 12 rue Oberkampf | 75011 | Paris | FR
Chloé | Martin | chloe.martin | +33 1 42 36 90 15 | 5 rue Montorgueil | 75002 | Paris | FR
Hugo | Laurent | hugo.laurent | +33 4 78 37 64 02 | 8 rue Mercière | 69002 | Lyon | FR
Olivia | Bennett | olivia.bennett | +44 20 7485 3321 | 221 Camden High St | NW1 7BU | London | GB
Sophie | Turner | sophie.turner | +44 20 7739 1054 | 48 Columbia Road | E2 7RG | London | GB
Harry | Clarke | harry.clarke | +44 161 834 2290 | 14 Oldham Street | M1 1JQ | Manchester | GB
Elsa | Lindqvist | elsa.lindqvist | +46 8 640 1932 | Götgatan 36 | 118 26 | Stockholm | SE
Mads | Jensen | mads.jensen | +45 33 12 48 70 | Jægersborggade 17 | 2200 | København | DK
Lucía | Martín | lucia.martin | +34 932 17 45 60 | Carrer de Verdi 30 | 08012 | Barcelona | ES
Pablo | Ortega | pablo.ortega | +34 915 31 22 87 | Calle de Fuencarral 70 | 28004 | Madrid | ES
""".splitlines()
]
LOGIN_CUSTOMER = ("+47 905 11 223", "Storgata 1", "0155", "Oslo", "NO")

REGULAR_ORDERS = 268
PENDING_ORDERS = 5
DAYS = 29
STAFF_CANCEL_NOTES = [
    "Customer called to cancel.",
    "Duplicate order.",
    "Customer asked by email to cancel.",
    "Address could not be verified.",
]
OWNER_CANCEL_NOTES = ["Ordered the wrong item.", "Changed my mind.", None]
CARRIERS = ["PostNord", "DHL", "DPD", "UPS"]


@dataclass
class _Order:
    """An order of the simulation, written to the database at the end."""

    id: uuid.UUID
    customer: Customer
    created_by: User
    created_at: datetime
    lines: dict[uuid.UUID, int]
    status: OrderStatus = OrderStatus.PENDING
    # (old status, new status, actor or None for the system, notes, when)
    history: list[tuple] = field(default_factory=list)


class _Month:
    """Replays the month: a queue of timed events, processed in time order up to ``now``."""

    def __init__(self, *, now: datetime, users: dict, customers: list, products: list):
        self.rng = random.Random(SEED)
        self.ids = random.Random(SEED + 1)  # ids from a stream of their own
        for product in products:
            product.id = self.uuid()
        self.now = now
        self.staff, self.admin = users[UserRole.STAFF], users[UserRole.ADMIN]
        self.customers = customers
        self.weights = [3] + [self.rng.choice((1, 2, 2, 3, 4)) for _ in customers[1:]]
        self.products = {p.id: p for p in products}
        self.by_name = {p.name: p for p in products}
        self.par = {p.name: stock for p, (*_, stock, _) in zip(products, CATALOGUE, strict=True)}
        self.popularity = {p.id: pop for p, (*_, pop) in zip(products, CATALOGUE, strict=True)}
        self.scarce = {name for name, *_ in SCARCE_DELIVERIES}
        self.queue: list = []
        self.seq = itertools.count()
        self.orders: list[_Order] = []

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.ids.getrandbits(128), version=4)

    def at(self, when: datetime, action, *args) -> None:
        heapq.heappush(self.queue, (when, next(self.seq), action, args))

    def ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)

    def worker(self) -> User:
        return self.admin if self.rng.random() < 0.15 else self.staff

    def run(self) -> list[_Order]:
        for name, *_ in CATALOGUE:
            if name not in self.scarce:
                for week in range(1, DAYS // 7 + 1):
                    self.at(self.ago(7 * week - 0.3), self.top_up, self.by_name[name])
        for _ in range(REGULAR_ORDERS):
            # busier lately: a third of the orders lean towards the recent days
            if self.rng.random() < 0.35:
                age = self.rng.triangular(1 / 24, DAYS, 1 / 24)
            else:
                age = self.rng.uniform(1 / 24, DAYS)
            self.at(self.ago(age), self.arrive, None, True)
        for minutes in sorted(self.rng.uniform(3, 45) for _ in range(PENDING_ORDERS)):
            self.at(self.ago(minutes / 1440), self.arrive, None, False)
        for name, units, days, buyers in SCARCE_DELIVERIES:
            self.at(self.ago(days + 0.1), self.deliver_stock, self.by_name[name], units)
            rush = self.ago(days)
            for i in range(buyers):
                # the orders arrive within a couple of minutes; the worker is behind
                arrival = rush + timedelta(seconds=i * self.rng.uniform(5, 25))
                reserve = rush + timedelta(seconds=200 + i)
                self.at(arrival, self.arrive, (self.by_name[name], reserve), True)
        while self.queue and self.queue[0][0] <= self.now:
            when, _, action, args = heapq.heappop(self.queue)
            action(when, *args)
        return self.orders

    # stock arriving

    def top_up(self, when: datetime, product: Product) -> None:
        """The weekly delivery fills the shelf back to its usual stock."""
        missing = self.par[product.name] - product.available
        if missing > 0:
            product.inventory_count += missing

    def deliver_stock(self, when: datetime, product: Product, units: int) -> None:
        product.inventory_count += units

    # orders

    def pick_lines(self, rush: Product | None) -> dict[UUID, int]:
        """What a customer asks for, among what is available now (more is refused at once)."""
        count = self.rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
        if rush is not None:
            if rush.available < 1:
                return {}  # sold out before this buyer came: refused, no order
            count -= 1
        candidates = [
            p for p in self.products.values() if p.available > 0 and p is not rush and p.active
        ]
        lines: dict[uuid.UUID, int] = {rush.id: 1} if rush is not None else {}
        for _ in range(min(count, len(candidates))):
            weights = [self.popularity[p.id] for p in candidates]
            product = self.rng.choices(candidates, weights=weights)[0]
            candidates.remove(product)
            if product.name in BULK_ITEMS:
                wanted = self.rng.choice((1, 2, 2, 3, 4, 6))
            else:
                wanted = self.rng.choices((1, 2, 3), weights=(75, 20, 5))[0]
            lines[product.id] = min(wanted, product.available)
        return lines

    def arrive(self, when: datetime, rush: tuple | None, reserved: bool) -> None:
        """An order comes in; the system reserves it seconds later (unless left pending)."""
        customer = self.rng.choices(self.customers, weights=self.weights)[0]
        lines = self.pick_lines(rush[0] if rush else None)
        if not lines:
            return
        creator = customer.user if customer.user is not None else self.worker()
        order = _Order(
            id=self.uuid(), customer=customer, created_by=creator, created_at=when, lines=lines
        )
        order.history.append((None, OrderStatus.PENDING, creator, "Order received.", when))
        self.orders.append(order)
        if reserved:
            later = rush[1] if rush else when + timedelta(seconds=self.rng.uniform(2, 40))
            self.at(later, self.reserve, order)

    def move(self, order: _Order, event: str, actor: User | None, when: datetime, notes=None):
        """One transition, as the lifecycle machine allows it for this actor."""
        owner = actor is not None and actor is order.customer.user
        new = apply(order.status, event, actor_role=actor.role if actor else None, is_owner=owner)
        order.history.append((order.status, new, actor, notes, when))
        order.status = new

    def reserve(self, when: datetime, order: _Order) -> None:
        """The reservation worker: all lines or nothing, as ``reserve_pending_orders`` does."""
        shortages = inventory.find_shortages(order.lines, self.products)
        if shortages:
            reason = " ".join(s.describe() for s in shortages)
            self.move(order, "reject", None, when, reason)
            return
        inventory.reserve(order.lines, self.products)
        self.move(order, "reserve", None, when)
        self.plan(order, when)

    def plan(self, order: _Order, placed: datetime) -> None:
        """When staff will pick, ship and deliver the order, or cancel it on the way."""
        hours = self.rng.uniform
        pick = placed + timedelta(hours=hours(0.5, 20))
        ship = pick + timedelta(hours=hours(2, 30))
        deliver = ship + timedelta(hours=hours(18, 96))
        fate = self.rng.random()
        if fate < 0.06:
            by_owner = order.customer.user is not None and self.rng.random() < 0.6
            actor = order.customer.user if by_owner else self.worker()
            notes = self.rng.choice(OWNER_CANCEL_NOTES if by_owner else STAFF_CANCEL_NOTES)
            cancel = placed + (pick - placed) * self.rng.uniform(0.1, 0.9)
            self.at(cancel, self.step, order, "cancel", actor, notes)
            return
        self.at(pick, self.step, order, "pick", self.worker(), None)
        if fate < 0.09:
            cancel = pick + (ship - pick) * self.rng.uniform(0.1, 0.9)
            notes = self.rng.choice(STAFF_CANCEL_NOTES)
            self.at(cancel, self.step, order, "cancel", self.worker(), notes)
            return
        tracking = f"{self.rng.choice(CARRIERS)} tracking {self.rng.randrange(10**11, 10**12)}"
        self.at(ship, self.step, order, "ship", self.worker(), tracking)
        self.at(deliver, self.step, order, "deliver", self.worker(), None)

    def step(self, when: datetime, order: _Order, event: str, actor: User, notes) -> None:
        """A staff action (or the customer's cancel) with its stock effect."""
        if event == "cancel":
            inventory.release(order.lines, self.products)
        elif event == "ship":
            inventory.take_out(order.lines, self.products)
        self.move(order, event, actor, when, notes)

    def paid(self, order: _Order) -> bool:
        chance = {
            OrderStatus.DELIVERED: 0.97,
            OrderStatus.SHIPPED: 0.7,
            OrderStatus.PICKED: 0.35,
            OrderStatus.PLACED: 0.25,
        }
        return self.rng.random() < chance.get(order.status, 0.0)


def _address(street: str, postal_code: str, city: str, country: str) -> dict:
    return {"line1": street, "postal_code": postal_code, "city": city, "country": country}


def _customers(session, casey: User, now: datetime, rng: random.Random) -> list[Customer]:
    """The login's customer record (phone and address added) first, then the others."""
    record = session.scalar(sa.select(Customer).where(Customer.user_id == casey.id))
    phone, *address = LOGIN_CUSTOMER
    first = customers_service.update(customer_id=record.id, phone=phone, address=_address(*address))
    people = [first]
    for first_name, last_name, email, phone, *address in CUSTOMERS:
        people.append(
            customers_service.create(
                email=f"{email}@example.com",
                first_name=first_name,
                last_name=last_name,
                phone=phone,
                address=_address(*address),
            )
        )
    for customer in people:
        customer.created_at = customer.updated_at = now - timedelta(days=rng.uniform(35, 120))
    session.flush()
    return people


def _write_orders(session, month: _Month, orders: list[_Order]) -> None:
    """Orders one by one, so ``next_number()`` sees the ones before; then lines and history
    in bulk."""
    items, history = [], []
    for order in sorted(orders, key=lambda o: o.created_at):
        prices = {pid: month.products[pid].price for pid in order.lines}
        lines = [(pid, n, (prices[pid] * n).quantize(CENT)) for pid, n in order.lines.items()]
        *_, last_actor, _, last_at = order.history[-1]
        address = order.customer.address
        session.execute(
            sa.insert(Order),
            [
                {
                    "id": order.id,
                    "number": next_number(),
                    "customer_id": order.customer.id,
                    "created_by_user_id": order.created_by.id,
                    "status": order.status,
                    "payment_collected": month.paid(order),
                    "total_amount": sum((total for *_, total in lines), Decimal("0.00")),
                    "shipping_address": {"name": order.customer.full_name, **(address or {})},
                    "status_updated_at": last_at,
                    "status_updated_by": last_actor.id if last_actor else None,
                    "created_at": order.created_at,
                    "updated_at": last_at,
                }
            ],
        )
        for i, (pid, n, total) in enumerate(lines):
            items.append(
                {
                    "id": month.uuid(),
                    "order_id": order.id,
                    "product_id": pid,
                    "quantity": n,
                    "unit_price": prices[pid],
                    "total_price": total,
                    "created_at": order.created_at + timedelta(microseconds=i),
                }
            )
        for old, new, actor, notes, when in order.history:
            history.append(
                {
                    "id": month.uuid(),
                    "order_id": order.id,
                    "old_status": old,
                    "new_status": new,
                    "changed_by_user_id": actor.id if actor else None,
                    "notes": notes,
                    "created_at": when,
                }
            )
    session.execute(sa.insert(OrderItem), items)
    # render_nulls: rows with and without notes go in one batch, not one statement each
    session.execute(sa.insert(OrderStatusHistory).execution_options(render_nulls=True), history)


def load() -> bool:
    """Create the demo logins, customers, catalogue and orders unless the admin already
    exists; True if they were created."""
    now = utcnow()
    with transaction() as session:
        # inside the transaction: on SQLite it holds the write lock, so two loads at once
        # cannot both see an empty database (on PostgreSQL the second hits the unique email)
        if auth_service.get_by_email(email=LOGINS[0][0]) is not None:
            return False
        users = {}
        for email, password, role in LOGINS:
            first, last = LOGIN_NAMES[role]
            users[UserRole(role)] = auth_service.create_user(
                email=email,
                password=password,
                role=UserRole(role),
                first_name=first,
                last_name=last,
            )
        for user in users.values():
            user.created_at = user.updated_at = now - timedelta(days=150)
        session.flush()
        month_rng = random.Random(SEED + 2)
        customers = _customers(session, users[UserRole.CUSTOMER], now, month_rng)
        since = now - timedelta(days=120)
        products = [
            Product(
                name=name,
                description=description,
                price=Decimal(price),
                inventory_count=stock,
                reserved_count=0,
                active=True,
                created_at=since,
                updated_at=since,
            )
            for name, description, price, stock, _ in CATALOGUE
        ]
        month = _Month(now=now, users=users, customers=customers, products=products)
        orders = month.run()
        session.add_all(products)
        session.flush()
        _write_orders(session, month, orders)
    return True
