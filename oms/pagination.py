"""Keyset (cursor) pagination: the one way every list endpoint pages.

A page is ``ORDER BY <sort column>, id`` with ``WHERE (<sort column>, id) > (last values)``,
so page 10,000 costs what page 1 costs given an index on (sort column, id); ``OFFSET`` would
read and throw away every earlier row. The cursor is an opaque token holding the last row's
sort values and the sort it belongs to.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from oms.errors import ValidationError
from oms.extensions import db
from oms.schemas import StrictSchema

# A column to sort or page by: a model attribute (``Order.created_at``) or an expression.
Column = InstrumentedAttribute[Any] | sa.ColumnElement[Any]

DEFAULT_LIMIT = 25
# What a cursor may carry back to SQL: no NUL or lone surrogate (psycopg2 cannot send them), no
# number PostgreSQL cannot hold. Cursors are made by us, so anything else was crafted.
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_MAX_INT = 2**63
MAX_LIMIT = 200
# A list's count is exact up to here, then "10,000+": counting stops after COUNT_CAP + 1 rows,
# so a count never costs more than reading that many index entries.
COUNT_CAP = 10_000


class PageQuerySchema(StrictSchema):
    """Query arguments every list accepts."""

    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT, validate=ma.validate.Range(min=1, max=MAX_LIMIT)
    )
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=500))


def sort_field(names: tuple[str, ...], default: str) -> ma.fields.String:
    """``sort``: one of ``names``, ``-`` before it for descending (an enum in the document, so
    a client, and the generated tests, know every value the list takes)."""
    return ma.fields.String(
        load_default=default,
        validate=ma.validate.OneOf([*names, *(f"-{name}" for name in names)]),
        metadata={"description": f"{', '.join(names)}; prefix - for descending"},
    )


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The response schema of a list: rows under ``items`` plus the pagination fields."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "limit": ma.fields.Integer(),
            "next_cursor": ma.fields.String(
                allow_none=True,
                metadata={"description": "Pass as `cursor` for the next page; null on the last"},
            ),
            "has_more": ma.fields.Boolean(),
        },
        name=name,
    )


@dataclass
class Page:
    """One keyset page of a list, as the API answers it."""

    items: list[Any]
    limit: int
    next_cursor: str | None

    def as_dict(self) -> dict:
        """The list body; the view's response schema dumps each item."""
        return {
            "items": self.items,
            "limit": self.limit,
            "next_cursor": self.next_cursor,
            "has_more": self.next_cursor is not None,
        }


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def _decode(raw: Any, column: Column) -> Any:
    python_type = column.type.python_type
    if raw is None:
        return None
    if python_type is datetime:
        moment = datetime.fromisoformat(raw)
        # PostgreSQL takes no offset beyond 15:59: hand the instant on in UTC
        return moment.astimezone(UTC) if moment.tzinfo else moment
    if python_type is str:
        text = str(raw)
        if _BAD_TEXT.search(text):
            raise ValueError("cursor text that SQL cannot take")
        return text
    if python_type is Decimal:
        number = Decimal(raw)
        if not (number.is_finite() and -40 <= number.adjusted() <= 40):
            raise ValueError("cursor number that NUMERIC cannot hold")
        return number
    if python_type is int:
        integer = int(raw)
        if not -_MAX_INT <= integer < _MAX_INT:
            raise ValueError("cursor number past BIGINT")
        return integer
    if python_type is uuid.UUID:
        return uuid.UUID(raw)
    return raw


def paginate(
    query: sa.Select,
    *,
    args: dict,
    sorts: Mapping[str, Column],
    default_sort: str,
    id_column: Column,
    any_of: Sequence[sa.ColumnElement[bool]] = (),
) -> Page:
    """One page of ``query`` (a select of one entity, or of columns: then the items are rows
    and the sort and id columns must be among them under their own names) for the list
    arguments ``args`` (``limit``, ``cursor``, ``sort``), ordered by (sort column, id).

    ``any_of``: the rows must also match one of these conditions. An OR of conditions that
    each have an index (a customer, a product's lines, a city) is one scan of the whole table
    for PostgreSQL; here each condition pages on its own (its own plan, its own index, at
    most a page's rows) and the page is taken from their union."""
    sort_key, sort_column, descending = parse_sort(args.get("sort"), sorts, default_sort)
    limit, cursor = args["limit"], args.get("cursor")
    if cursor:
        try:
            state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            if state["s"] != sort_key:
                raise ValueError("cursor from another sort")
            last_sort = _decode(state["v"][0], sort_column)
            last_id = _decode(state["v"][1], id_column)
        except (
            ValueError,
            KeyError,
            TypeError,
            IndexError,
            AttributeError,
            ArithmeticError,
        ) as exc:
            raise ValidationError(
                "The cursor is not valid for this list.",
                details={"cursor": ["Use the next_cursor of a previous page with the same sort."]},
            ) from exc
        key = sa.tuple_(sort_column, id_column)
        bound = sa.tuple_(
            sa.literal(last_sort, sort_column.type), sa.literal(last_id, id_column.type)
        )
        query = query.where(key < bound if descending else key > bound)
    ordering = (sort_column.desc(), id_column.desc()) if descending else (sort_column, id_column)
    if any_of:
        # each alternative's own page of keys, from the filtered table alone (no joins)
        where = query.whereclause if query.whereclause is not None else sa.true()
        pages = [
            sa.select(id_column).where(where, condition).order_by(*ordering).limit(limit + 1)
            for condition in any_of
        ]
        query = query.where(id_column.in_(_union(pages, distinct=False)))
    query = query.order_by(*ordering).limit(limit + 1)
    if _selects_one_entity(query):
        rows = list(db.session.scalars(query))
    else:  # plain rows: on the session's connection, without the ORM's result machinery
        rows = list(db.session.connection().execute(query).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        values = [_encode(getattr(last, str(c.key))) for c in (sort_column, id_column)]
        next_cursor = base64.urlsafe_b64encode(
            json.dumps({"s": sort_key, "v": values}).encode()
        ).decode()
    return Page(items=rows, limit=limit, next_cursor=next_cursor)


def _selects_one_entity(query: sa.Select) -> bool:
    """Whether ``query`` selects ORM objects of one model (else rows of columns)."""
    described = query.column_descriptions
    return len(described) == 1 and described[0]["expr"] is described[0]["entity"]


def _union(selects: Sequence[sa.Select], *, distinct: bool) -> sa.CompoundSelect:
    """The rows of ``selects`` (each may have its own ORDER BY and LIMIT: SQLite takes those
    in a compound select only inside a subquery)."""
    members = [sa.select(*s.subquery().c) for s in selects]
    return sa.union(*members) if distinct else sa.union_all(*members)


def count_capped(
    query: sa.Select, *, id_column: Column, any_of: Sequence[sa.ColumnElement[bool]] = ()
) -> tuple[int, bool]:
    """How many rows ``query`` matches, exact up to ``COUNT_CAP``: (count, whether capped).
    With ``any_of``, the rows matching ``query`` and one of those conditions, each condition
    read on its own (see :func:`paginate`) up to the cap: when one alone passes the cap, or
    only one matches at all, that is the answer; else their keys are united and counted."""
    cap = COUNT_CAP
    keys = query.with_only_columns(id_column).order_by(None).limit(cap + 1)
    connection = db.session.connection()
    if any_of:
        each = [_count(keys.where(condition)).scalar_subquery() for condition in any_of]
        counts = list(connection.execute(sa.select(*each)).one())
        if max(counts) > cap:
            return cap, True
        if sum(1 for n in counts if n) <= 1:
            return sum(counts), False
        # (a row taken by one condition could be kept from the next one by NOT it, but the
        # planner then charges that subquery to every row and scans the table instead)
        keys = sa.select(
            *_union([keys.where(condition) for condition in any_of], distinct=True).subquery().c
        )
    matched = connection.scalar(_count(keys)) or 0
    return min(matched, cap), matched > cap


def _count(keys: sa.Select) -> sa.Select:
    return sa.select(sa.func.count()).select_from(keys.subquery())


def counted_page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """:func:`page_schema` plus ``count`` and ``count_capped`` (see :func:`count_capped`)."""
    fields = dict(page_schema(item_schema, name + "Base")._declared_fields)
    fields["count"] = ma.fields.Integer(
        metadata={"description": f"Rows matching the filters, exact up to {COUNT_CAP:,}"}
    )
    fields["count_capped"] = ma.fields.Boolean(
        metadata={"description": "True when there are more than `count` rows"}
    )
    return ma.Schema.from_dict(fields, name=name)


def parse_sort(
    raw: str | None, allowed: Mapping[str, Column], default: str
) -> tuple[str, Column, bool]:
    """``sort=-created_at`` -> (key, column, descending); unknown keys are a 422."""
    raw = raw or default
    descending = raw.startswith("-")
    name = raw.lstrip("-")
    if name not in allowed:
        raise ValidationError(
            "Unknown sort field.", details={"sort": [f"Use one of: {', '.join(sorted(allowed))}"]}
        )
    return raw, allowed[name], descending
