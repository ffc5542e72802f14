"""The event catalogue is the one list: the publisher refuses what it does not list, every
publishing call names a listed type, and the README table is the catalogue's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from oms import event_catalogue, events
from oms.db import transaction
from oms.event_catalogue import CATALOGUE, UnknownEvent, markdown_table

ROOT = Path(__file__).resolve().parents[2]


def test_readme_table_is_the_catalogue():
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- event-catalogue:start -->\n", "<!-- event-catalogue:end -->"
    table = readme[readme.index(start) + len(start) : readme.index(end)]
    assert table == markdown_table(), "run .venv/bin/python -m oms.event_catalogue"


def test_every_published_type_is_in_the_catalogue():
    published = set()
    for path in (ROOT / "oms").rglob("*.py"):
        published |= set(re.findall(r'publish\(\s*"([a-z_.]+)"', path.read_text()))
    published |= {"order.created", "order.updated"}  # oms/orders/events.py passes the kind
    assert published, "no publish calls found"
    assert published <= set(event_catalogue.BY_NAME)


def test_unknown_types_and_fields_are_refused(app_ctx):
    with pytest.raises(UnknownEvent), transaction():
        events.publish("order.teleported", order_id="x")
    with pytest.raises(UnknownEvent, match="colour"), transaction():
        events.publish("inventory.low_stock", product_id="p", name="n", available=1, colour="red")
    with pytest.raises(UnknownEvent, match="available"), transaction():
        events.publish("inventory.low_stock", product_id="p", name="n")


def test_published_events_carry_id_and_catalogue_version(app_ctx):
    seen = []
    unsubscribe = events.subscribe(seen.append)
    try:
        with transaction():
            events.publish("inventory.low_stock", product_id="p", name="n", available=1)
    finally:
        unsubscribe()
    (event,) = seen
    assert event["version"] == event_catalogue.BY_NAME["inventory.low_stock"].version
    assert len(event["id"]) == 36 and event["at"]


def test_every_entry_is_documented():
    for entry in CATALOGUE:
        assert entry.summary and entry.fields and all(entry.fields.values())
        assert entry.ordered_by is None or entry.ordered_by in entry.fields
