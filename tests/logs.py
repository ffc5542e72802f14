"""The log lines a block of code writes, as the JSON objects the processes print."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from oms.logging import ContextFilter, JsonFormatter


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[dict] = []
        self.addFilter(ContextFilter())

    def emit(self, record):
        self.lines.append(json.loads(JsonFormatter().format(record)))


@contextmanager
def log_lines(name: str) -> Iterator[list[dict]]:
    """The lines logger ``name`` (and those below it) writes inside the block, at INFO."""
    collector = _Collect()
    logger = logging.getLogger(name)
    logger.addHandler(collector)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield collector.lines
    finally:
        logger.removeHandler(collector)
        logger.setLevel(level)
