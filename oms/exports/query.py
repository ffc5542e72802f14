"""The SELECT an export runs: the order listing's own filters, one text cell per column.

Every cell is formatted in SQL (timestamps as ISO 8601 UTC, money with two decimals, booleans
as ``true``/``false``), so PostgreSQL's ``COPY`` and the cursor path write the same text, and
free text is neutralised in SQL against spreadsheet formula injection: a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``.

The filters are not written again here: the WHERE clause is the one
:func:`oms.orders.queries.get_all` builds for ``GET /api/v1/orders``. The tables joined for the
columns are aliased, so the filters' own subqueries (search by customer or product name, by
product) never correlate with them and keep exactly the listing's meaning.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from oms.auth.models import User
from oms.customers.models import Customer
from oms.extensions import db
from oms.orders import queries as order_queries
from oms.orders.models import Order, OrderItem
from oms.pagination import Column
from oms.products.models import Product

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

ORDER_COLUMNS = (
    "number",
    "id",
    "created_at",
    "status",
    "customer_name",
    "customer_email",
    "item_count",
    "total_amount",
    "payment_collected",
    "shipping_address",
    "status_updated_at",
)
LINE_COLUMNS = ("product_name", "quantity", "unit_price", "line_total")

# Parts of the one-cell shipping address, in reading order ("postal_code city" is one part).
_ADDRESS_PARTS = ("name", "line1", "line2", ("postal_code", "city"), "region", "country")


class _TextCell(FunctionElement):
    type = sa.Text()
    inherit_cache = True


class utc_text(_TextCell):
    """A timestamp as ``2026-11-25T10:00:00Z`` (UTC, whole seconds)."""

    name = "utc_text"
    inherit_cache = True


class money_text(_TextCell):
    """A NUMERIC(12,2) amount as ``12.50``."""

    name = "money_text"
    inherit_cache = True


class uuid_text(_TextCell):
    """A UUID in its hyphenated form."""

    name = "uuid_text"
    inherit_cache = True


def _arg(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(utc_text, "postgresql")
def _utc_text_pg(element, compiler, **kw):
    return (
        f"to_char(({_arg(element, compiler, **kw)}) AT TIME ZONE 'UTC', "
        '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\')'
    )


@compiles(utc_text)
def _utc_text_sqlite(element, compiler, **kw):
    # SQLite keeps UTC timestamps as text ("2026-11-25 10:00:00.123456")
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {_arg(element, compiler, **kw)})"


@compiles(money_text, "postgresql")
def _money_text_pg(element, compiler, **kw):
    return f"CAST({_arg(element, compiler, **kw)} AS TEXT)"


@compiles(money_text)
def _money_text_sqlite(element, compiler, **kw):
    return f"printf('%.2f', {_arg(element, compiler, **kw)})"


@compiles(uuid_text, "postgresql")
def _uuid_text_pg(element, compiler, **kw):
    return f"CAST({_arg(element, compiler, **kw)} AS TEXT)"


@compiles(uuid_text)
def _uuid_text_sqlite(element, compiler, **kw):
    # SQLAlchemy keeps a UUID on SQLite as 32 hex digits
    value = _arg(element, compiler, **kw)
    groups = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    return "lower(" + " || '-' || ".join(f"substr({value}, {s}, {n})" for s, n in groups) + ")"


def neutralise(value: Column) -> sa.ColumnElement:
    """``value`` with a leading ``'`` when a spreadsheet would run it as a formula."""
    return sa.case(
        (sa.func.substr(value, 1, 1).in_(FORMULA_PREFIXES), sa.literal("'") + value),
        else_=value,
    )


def _join_present(parts: list[sa.ColumnElement], separator: str) -> sa.ColumnElement:
    """The non-empty ``parts`` joined by ``separator`` (SQLite 3.40 has no concat_ws):
    each present part brings its own separator, and the first one is cut off again."""
    joined: sa.ColumnElement[str] = sa.literal("")
    for part in parts:
        joined = joined + sa.func.coalesce(sa.literal(separator) + sa.func.nullif(part, ""), "")
    return sa.func.substr(joined, len(separator) + 1)


# PostgreSQL's JSON functions refuse a json value whose text escapes a lone UTF-16 surrogate or
# NUL ("\ud800", "\u0000"). The API refuses such text (oms/api/content.py), but one row written
# before that, or by hand, would stop every export: those escapes are read as U+FFFD instead.
# An escape is real after an even run of backslashes ("\\ud800" is text); a surrogate pair
# (an emoji, say) is left alone. Rows without a suspect escape pay a strpos and a plain match.
_REAL = r"(?:^|[^\\])(?:\\\\)*"  # what comes before an escape's backslash
_HIGH = r"\\u[dD][89abAB][0-9a-fA-F]{2}"
_LOW = r"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_BAD_ESCAPES = rf"(?<!{_REAL}\\)(?:{_HIGH}(?!{_LOW})|(?<!{_REAL}{_HIGH}){_LOW}|\\u0000)"
_SUSPECT_ESCAPE = r"\\u(d[89a-f]|0000)"


def readable_json(document: Column) -> sa.ColumnElement:
    """A json column as PostgreSQL's JSON functions can read it, whatever text it holds."""
    text = sa.cast(document, sa.Text)
    suspect = sa.and_(
        sa.func.strpos(text, "\\u") > 0, text.regexp_match(_SUSPECT_ESCAPE, flags="i")
    )
    cleaned = sa.func.regexp_replace(text, _BAD_ESCAPES, "\ufffd", "g")
    return sa.case((suspect, sa.cast(cleaned, sa.JSON)), else_=document)


def _address_fields(address: Column) -> tuple[sa.FromClause | None, dict]:
    """The address fields as text columns, and the FROM item that provides them, if any.

    PostgreSQL parses the JSON once per order with ``json_to_record`` (seven ``->>`` lookups
    would parse it seven times, several seconds per million orders); elsewhere each field is
    a ``json_extract``."""
    keys = [k for part in _ADDRESS_PARTS for k in (part if isinstance(part, tuple) else (part,))]
    if db.engine.dialect.name != "postgresql":
        return None, {key: address[key].as_string() for key in keys}
    record = (
        sa.func.json_to_record(readable_json(address))
        .table_valued(*(sa.column(key, sa.Text) for key in keys))
        .render_derived(name="export_address", with_types=True)
    )
    return record, {key: record.c[key] for key in keys}


def flat_address(fields: dict) -> sa.ColumnElement:
    """A shipping address as one line: ``name, line1, line2, postal_code city, region, country``."""
    parts = [
        _join_present([fields[k] for k in part], " ") if isinstance(part, tuple) else fields[part]
        for part in _ADDRESS_PARTS
    ]
    return _join_present(parts, ", ")


def order_filter(actor: User, filters: dict) -> sa.ColumnElement[bool] | None:
    """The WHERE clause of ``GET /api/v1/orders`` for ``actor`` and ``filters``, taken from
    :func:`oms.orders.queries.get_all` so the two can never disagree."""
    listing = order_queries.get_all(actor=actor, **filters)
    froms = listing.get_final_froms()
    if froms != [Order.__table__]:
        # get_all grew a join: its WHERE clause would need that join here too
        raise RuntimeError(f"order listing selects from {froms}; the export expects orders only")
    return listing.whereclause


def _rows(where: sa.ColumnElement[bool] | None, per_line: bool) -> sa.Select:
    """The rows of an export, oldest order first (lines in the order they were added)."""
    customer = aliased(Customer, name="export_customer")
    address_from, address = _address_fields(Order.shipping_address)
    counted = aliased(OrderItem, name="counted_item")
    item_count = (
        sa.select(sa.func.coalesce(sa.func.sum(counted.quantity), 0))
        .where(counted.order_id == Order.id)
        .correlate(Order)
        .scalar_subquery()
    )
    columns = [
        neutralise(Order.number).label("number"),
        uuid_text(Order.id).label("id"),
        utc_text(Order.created_at).label("created_at"),
        sa.cast(Order.status, sa.Text).label("status"),
        neutralise(customer.first_name + " " + customer.last_name).label("customer_name"),
        neutralise(customer.email).label("customer_email"),
        item_count.label("item_count"),
        money_text(Order.total_amount).label("total_amount"),
        sa.case((Order.payment_collected, "true"), else_="false").label("payment_collected"),
        neutralise(flat_address(address)).label("shipping_address"),
        utc_text(Order.status_updated_at).label("status_updated_at"),
    ]
    query = sa.select(*columns).select_from(Order).join(customer, customer.id == Order.customer_id)
    if address_from is not None:
        # a function in FROM may read the columns of the tables before it (implicitly lateral)
        query = query.join(address_from, sa.true())
    ordering = [Order.created_at, Order.id]
    if per_line:
        line = aliased(OrderItem, name="export_line")
        product = aliased(Product, name="export_product")
        query = (
            query.add_columns(
                neutralise(product.name).label("product_name"),
                line.quantity.label("quantity"),
                money_text(line.unit_price).label("unit_price"),
                money_text(line.total_price).label("line_total"),
            )
            .outerjoin(line, line.order_id == Order.id)
            .outerjoin(product, product.id == line.product_id)
        )
        ordering += [line.created_at, line.id]
    if where is not None:
        query = query.where(where)
    return query.order_by(*ordering)


def _count(where: sa.ColumnElement[bool] | None, per_line: bool) -> sa.Select:
    query = sa.select(sa.func.count()).select_from(Order)
    if per_line:
        line = aliased(OrderItem, name="export_line")
        query = query.outerjoin(line, line.order_id == Order.id)
    return query.where(where) if where is not None else query


@dataclass(frozen=True)
class ExportQuery:
    """The statements of one export, built once (in the request or the task, where the
    actor and the database are known) and run later, possibly page by page."""

    rows: sa.Select  # the CSV rows, text cells, in order
    count: sa.Select  # how many rows ``rows`` gives
    keys: sa.Select  # (created_at, id) of the matching orders, in the same order
    header: tuple[str, ...]

    def page_keys(self, after: tuple | None, limit: int) -> sa.Select:
        """The keys of the next ``limit`` orders after the order keyed ``after``."""
        query = self.keys
        if after is not None:
            created_at, order_id = after
            query = query.where(
                sa.tuple_(Order.created_at, Order.id)
                > sa.tuple_(
                    sa.literal(created_at, Order.created_at.type),
                    sa.literal(order_id, Order.id.type),
                )
            )
        return query.limit(limit)

    def page_rows(self, order_ids: list) -> sa.Select:
        """The rows of these orders only."""
        return self.rows.where(Order.id.in_(order_ids))


def build(*, actor: User, filters: dict, per_line: bool) -> ExportQuery:
    """The export of the orders ``actor`` may see that match ``filters`` (those of
    ``GET /api/v1/orders``): one row per order, or per order line with ``per_line``."""
    where = order_filter(actor, filters)
    keys = sa.select(Order.created_at, Order.id).order_by(Order.created_at, Order.id)
    return ExportQuery(
        rows=_rows(where, per_line),
        count=_count(where, per_line),
        keys=keys.where(where) if where is not None else keys,
        header=ORDER_COLUMNS + LINE_COLUMNS if per_line else ORDER_COLUMNS,
    )
