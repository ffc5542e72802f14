"""Supported test helpers for the work a transaction leaves for after its commit.

Services commit through :func:`oms.db.transaction`, which runs the after-commit callbacks
(outbox dispatch, events) once it has committed. Tests that play a process dying between the
commit and the dispatch use :func:`transaction_without_dispatch`; tests that want the unsent
rows handed over now, as beat's relay would, use :func:`drain_outbox` (the ``drain_outbox``
fixture in tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from oms.db import discard_after_commit, transaction
from oms.outbox import service as outbox


@contextmanager
def transaction_without_dispatch() -> Iterator[Session]:
    """A :func:`oms.db.transaction` that commits, then never runs its after-commit work (outbox
    dispatch, events): as if the process died right after the commit. Its outbox rows stay
    unsent, for :func:`drain_outbox` or the relay. Use it as the outermost transaction.
    """
    with transaction() as session:
        yield session
        discard_after_commit()


def drain_outbox(*, rounds: int = 50) -> int:
    """Hand every unsent outbox message over now, whatever its age (beat's relay without its
    age filter); in the eager test app the tasks run right here, and messages those tasks
    enqueue are sent too. Returns how many were sent; needs an app context."""
    total = 0
    for _ in range(rounds):
        sent = outbox.relay(min_age_seconds=0)
        if not sent:
            return total
        total += sent
    raise AssertionError(f"the outbox was still not empty after {rounds} relays")
