"""The carriers an order can ship with (``OMS_CARRIERS``) and the link to a parcel's tracking
page: one place that turns (carrier, tracking number) into a URL for the pages, the email and
the events alike."""

from __future__ import annotations

from urllib.parse import quote

from flask import current_app


def all_carriers() -> list[dict]:
    """``[{"code", "name", "tracking_url"}]`` as configured, in the configured order."""
    return current_app.config["OMS_CARRIERS"]


def get(code: str | None) -> dict | None:
    """The carrier with ``code``, or None (no carrier, or one since removed from the list)."""
    return next((c for c in all_carriers() if c["code"] == code), None) if code else None


def name_of(code: str | None) -> str | None:
    """The carrier's name for people; an unknown code is shown as it is."""
    carrier = get(code)
    return carrier["name"] if carrier else code


def tracking_url(code: str | None, number: str | None) -> str | None:
    """The carrier's tracking page for ``number`` (URL-encoded into the template), or None when
    there is no number or the carrier has no tracking page."""
    carrier = get(code)
    if not carrier or not number or not carrier.get("tracking_url"):
        return None
    return carrier["tracking_url"].replace("{tracking_number}", quote(number, safe=""))
