"""The one rule for comparing emails (logins, customer records, login throttling)."""

from __future__ import annotations


def normalize_email(email: str) -> str:
    """Emails compare without surrounding spaces and case-insensitively."""
    return email.strip().lower()
