"""ISO codes the app checks input against: countries (ISO 3166-1 alpha-2, for addresses) and
currencies (ISO 4217, for ``OMS_CURRENCY``), from the pycountry package, so the lists stay
those of the standard instead of a copy kept by hand."""

from __future__ import annotations

from functools import cache

import pycountry


@cache
def countries() -> tuple[tuple[str, str], ...]:
    """Every assigned alpha-2 code with its common English name, sorted by name (the choices
    of the country selects)."""
    named = ((c.alpha_2, getattr(c, "common_name", None) or c.name) for c in pycountry.countries)
    return tuple(sorted(named, key=lambda pair: pair[1]))


@cache
def _country_codes() -> frozenset[str]:
    return frozenset(code for code, _ in countries())


def is_country(code: str) -> bool:
    """Whether ``code`` is an assigned ISO 3166-1 alpha-2 code (upper case, e.g. ``NO``)."""
    return code in _country_codes()


def is_currency(code: str) -> bool:
    """Whether ``code`` is an ISO 4217 currency code (upper case, e.g. ``EUR``)."""
    return len(code) == 3 and pycountry.currencies.get(alpha_3=code) is not None
