"""Write an export as CSV with bounded memory, whatever the number of rows.

Every way gives the same bytes: UTF-8 with a byte order mark (so spreadsheets read it as
UTF-8), a header row, RFC 4180 quoting, ``\\n`` line ends.

- :func:`copy_csv`, the worker on PostgreSQL: ``COPY (SELECT ...) TO STDOUT WITH CSV HEADER``
  through psycopg2's ``copy_expert`` into a :class:`RowCountingWriter`. PostgreSQL formats the
  rows; libpq hands over one row per ``write()``, so counting rows costs nothing.
- :func:`iter_csv`, the direct download on PostgreSQL: a server-side cursor read in batches
  and written with the ``csv`` module.
- :func:`iter_csv_pages`, anywhere else (SQLite): the orders are read a page at a time by
  short queries of their own (keyset pages on ``(created_at, id)``), because SQLite refuses
  writes (the export's progress, new orders) while a read stays open.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator
from typing import BinaryIO

import sqlalchemy as sa

from oms.exports.query import ExportQuery

log = logging.getLogger("oms.exports")

BOM = "\ufeff".encode()
FLUSH_BYTES = 256 * 1024
BATCH_ROWS = 2000

# on_rows(rows_written) is called as rows go out; it may raise to stop the export.
RowsCallback = Callable[[int], None]


class RowCountingWriter:
    """The file ``copy_expert`` writes to: counts rows (one per ``write()``, as libpq returns
    them), gathers them into large writes to ``sink``, and reports the count to ``on_rows``."""

    def __init__(self, sink: BinaryIO, on_rows: RowsCallback):
        self._sink = sink
        self._on_rows = on_rows
        self._chunks: list[bytes] = []
        self._buffered = 0
        self.writes = 0

    @property
    def rows(self) -> int:
        """Data rows written so far (the header is not one)."""
        return max(self.writes - 1, 0)

    def write(self, data: bytes) -> int:
        """Buffer ``data``; returns its length, as a file's ``write`` does."""
        self.writes += 1
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered >= FLUSH_BYTES:
            self.flush()
        self._on_rows(self.rows)
        return len(data)

    def flush(self) -> None:
        """Hand what is buffered to the sink in one write."""
        if self._chunks:
            self._sink.write(b"".join(self._chunks))
            self._chunks.clear()
            self._buffered = 0


def _sql(cursor, select: sa.Select, dialect: sa.Dialect) -> str:
    """``select`` as SQL text with its parameters quoted by psycopg2 itself (COPY takes no
    bind parameters)."""
    compiled = select.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return cursor.mogrify(compiled.string, compiled.params).decode()


def copy_statement(cursor, select: sa.Select, dialect: sa.Dialect) -> str:
    """``COPY (select) TO STDOUT`` as CSV with a header, in UTF-8."""
    query = _sql(cursor, select, dialect)
    return f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"


def copy_csv(
    engine: sa.Engine,
    export: ExportQuery,
    sink: BinaryIO,
    *,
    on_total: Callable[[int], None],
    on_rows: RowsCallback,
) -> int:
    """Write the export to ``sink`` with PostgreSQL's COPY; returns the rows written.

    The count and the rows come from one REPEATABLE READ snapshot, so the total is exact. The
    connection is thrown away if the COPY stops half-way (it would still be in COPY state)."""
    raw = engine.raw_connection()
    ok = False
    try:
        cursor = raw.cursor()
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute(_sql(cursor, export.count, engine.dialect))
        on_total(cursor.fetchone()[0])  # type: ignore[index]  # COUNT(*) returns one row
        sink.write(BOM)
        writer = RowCountingWriter(sink, on_rows)
        cursor.copy_expert(copy_statement(cursor, export.rows, engine.dialect), writer)
        writer.flush()
        cursor.close()
        raw.rollback()
        ok = True
        return writer.rows
    finally:
        if not ok:
            raw.invalidate()
        raw.close()


class _CSVText:
    """Rows to CSV bytes, one chunk at a time."""

    def __init__(self):
        self._text = io.StringIO()
        self._writer = csv.writer(self._text, lineterminator="\n")

    def encode(self, rows) -> bytes:
        self._text.seek(0)
        self._text.truncate()
        self._writer.writerows(rows)
        return self._text.getvalue().encode()


def iter_csv(
    connection: sa.Connection, export: ExportQuery, *, batch: int = BATCH_ROWS
) -> Iterator[tuple[bytes, int]]:
    """The export as CSV chunks ``(bytes, rows in it)``, the first one the byte order mark and
    the header (0 rows), then a chunk per ``batch`` rows fetched from a server-side cursor."""
    text = _CSVText()
    yield BOM + text.encode([export.header]), 0
    result = connection.execution_options(stream_results=True, yield_per=batch).execute(export.rows)
    for rows in result.partitions():
        yield text.encode(rows), len(rows)


def iter_csv_pages(
    engine: sa.Engine, export: ExportQuery, *, batch: int = BATCH_ROWS
) -> Iterator[tuple[bytes, int]]:
    """Like :func:`iter_csv`, but each page of ``batch`` orders is read by short queries on a
    connection of their own, released before the page is handed on."""
    text = _CSVText()
    yield BOM + text.encode([export.header]), 0
    after = None
    while True:
        with engine.connect() as connection:
            keys = connection.execute(export.page_keys(after, batch)).all()
            if not keys:
                return
            rows = connection.execute(export.page_rows([key.id for key in keys])).all()
        after = tuple(keys[-1])
        yield text.encode(rows), len(rows)


FAILED_LINE = b"\n#ERROR: the export failed part-way; this file is incomplete\n"


class ExportInterrupted(Exception):
    """A direct export failed after its headers were sent: raised into the server so it
    aborts the chunked transfer (no final chunk) instead of ending a truncated 200 cleanly."""


def stream_csv(engine: sa.Engine, export: ExportQuery) -> Iterator[bytes]:
    """The export as CSV chunks for an HTTP response; the connection is closed even when the
    client goes away half-way (the generator is closed).

    The status line left with the first chunk, so a failure later (the database gone, a
    query error) cannot become an error status: the body ends with :data:`FAILED_LINE` and
    the transfer is aborted, which every HTTP client reports as an incomplete body."""
    try:
        yield from _csv_chunks(engine, export)
    except Exception as exc:  # GeneratorExit (the client left) is not one: nothing to tell
        log.error("direct export failed part-way", exc_info=True)
        yield FAILED_LINE
        raise ExportInterrupted(str(exc)[:200]) from exc


def _csv_chunks(engine: sa.Engine, export: ExportQuery) -> Iterator[bytes]:
    if engine.dialect.name != "postgresql":
        for chunk, _ in iter_csv_pages(engine, export):
            yield chunk
        return
    with engine.connect() as connection:
        for chunk, _ in iter_csv(connection, export):
            yield chunk


def cursor_csv(
    engine: sa.Engine,
    export: ExportQuery,
    sink: BinaryIO,
    *,
    on_total: Callable[[int], None],
    on_rows: RowsCallback,
) -> int:
    """Write the export to ``sink`` page by page (databases without COPY); returns the rows
    written."""
    with engine.connect() as connection:
        on_total(connection.execute(export.count).scalar_one())
    rows = 0
    for chunk, n in iter_csv_pages(engine, export):
        sink.write(chunk)
        rows += n
        on_rows(rows)
    return rows
