"""Which addresses a webhook may reach (server-side request forgery).

A URL's host is resolved and every address it resolves to must be public: private, loopback,
link-local, multicast, reserved and unspecified ones are refused unless
``OMS_WEBHOOKS_ALLOW_PRIVATE``. The check runs when an endpoint is saved and again before each
POST, which then goes to the very address that was checked (a host that re-resolves to an
internal address between check and connect, DNS rebinding, gains nothing).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from oms.webhooks.errors import WebhookURLRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """Where a POST goes: the URL's parts and the checked address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _split(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookURLRefused("only http:// and https:// URLs with a host")
    if parts.username or parts.password:
        raise WebhookURLRefused("credentials in the URL; the signature authenticates us")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookURLRefused("a port out of range") from exc
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname.lower(), port, path


def is_public(address: IPAddress) -> bool:
    """Whether the address is on the public internet (an IPv4-mapped one judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookURLRefused("the host does not resolve") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def check(url: str, *, allow_private: bool, own_hosts: frozenset[str] = frozenset()) -> Target:
    """The target of ``url`` if it may be reached, else WebhookURLRefused.

    ``own_hosts`` are this system's own ``host:port`` names (the request's Host), refused
    whatever the setting: a webhook must never call the API that sends it."""
    scheme, host, port, path = _split(url)
    if f"{host}:{port}" in own_hosts or (port in (80, 443) and host in own_hosts):
        raise WebhookURLRefused("it points at this system")
    addresses = _resolve(host, port)
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise WebhookURLRefused(
                    f"{host} resolves to {address}, a private, loopback or link-local address"
                )
    return Target(scheme, host, port, path, str(addresses[0]))
