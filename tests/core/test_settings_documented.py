"""Every ``OMS_*`` setting the code, the deploy files or compose read is a row of the README's
Configuration table, and every row there is read somewhere: the table cannot drift."""

from __future__ import annotations

import re

from tests.processes import ROOT

SOURCES = [
    *(ROOT / "oms").rglob("*.py"),
    *(path for path in (ROOT / "deploy").rglob("*") if path.is_file() and path.suffix != ".pyc"),
    ROOT / "celery_config.py",
    ROOT / "wsgi.py",
    ROOT / "Procfile",
    ROOT / "Makefile",
    ROOT / "docker-compose.yml",
]
# a name built in code (the prefix of the rate-limit and webhook settings), not a setting
NOT_SETTINGS = {"OMS_WEBHOOKS_", "OMS_RATELIMIT_"}


def _used() -> set[str]:
    names: set[str] = set()
    for path in SOURCES:
        names |= set(re.findall(r"\b(OMS_[A-Z0-9_]+)\b", path.read_text(errors="replace")))
    return names - NOT_SETTINGS


def _documented() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Configuration") :]
    section = section[: section.index("\n## ", 1)]
    rows = re.findall(r"^\| (.+?) \|", section, re.M)
    return {name for row in rows for name in re.findall(r"`(OMS_[A-Z0-9_]+)`", row)}


def test_every_setting_read_is_in_the_configuration_table():
    missing = sorted(_used() - _documented())
    assert not missing, f"not in README's Configuration table: {missing}"


def test_every_setting_in_the_table_is_read_somewhere():
    unused = sorted(_documented() - _used())
    assert not unused, f"README's Configuration table names settings nothing reads: {unused}"
