"""Name search: PostgreSQL full-text search (GIN-indexed) with prefix matching, LIKE elsewhere."""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute

from oms.db import is_postgresql

_WORD_RE = re.compile(r"\w+", re.UNICODE)


def _words(q: str) -> list[str]:
    """Up to eight lower-case words of letters, digits and underscores."""
    return _WORD_RE.findall(q.lower())[:8]


def matches(
    tsvector_sql: str,
    like_columns: Sequence[QueryableAttribute[str] | sa.ColumnElement[str]],
    q: str,
) -> sa.ColumnElement[bool]:
    """A condition true when every word of ``q`` starts a word of the indexed text.

    ``tsvector_sql`` must be the exact expression of a GIN index (e.g. ``"to_tsvector('simple',
    name)"``) so PostgreSQL uses it; ``like_columns`` are searched with LIKE on other databases.
    """
    words = _words(q)
    if not words:
        return sa.true()
    if is_postgresql():
        # 'ann:* & smi:*': each word as a prefix; words are \w-only, so no tsquery syntax leaks in
        query = " & ".join(f"{word}:*" for word in words)
        condition = sa.text(f"{tsvector_sql} @@ to_tsquery('simple', :tsq)").bindparams(tsq=query)
        return condition  # type: ignore[return-value]  # a SQL boolean, wherever a condition goes
    return sa.and_(
        *[sa.or_(*[column.ilike(f"%{word}%") for column in like_columns]) for word in words]
    )


PRODUCT_NAME_TSVECTOR = "to_tsvector('simple', products.name)"
CUSTOMER_NAME_TSVECTOR = (
    "to_tsvector('simple'::regconfig, "
    "(customers.first_name::text || ' '::text) || customers.last_name::text)"
)
