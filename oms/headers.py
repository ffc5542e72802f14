"""The security headers every response carries.

The Content-Security-Policy allows only the app's own files: no inline script or style (every
script lives in ``oms/static/js``, every style in ``oms/static/css``; inline ``style``
attributes are refused too), no plugins, no framing, forms and ``<base>`` only to this site.
``connect-src 'self'`` covers the API's ``fetch`` and Socket.IO (polling and the WebSocket:
CSP 3 matches ``ws:``/``wss:`` on the same host to ``'self'``); a socket process on another
origin (``OMS_SOCKET_URL``) is added to it. ``img-src`` allows ``data:``
for the empty favicon and the images the vendored CSS and Swagger UI embed as data URLs.
"""

from __future__ import annotations

from flask import Flask, request


def content_security_policy(socket_url: str = "") -> str:
    """The policy; a Socket.IO process on another origin (``OMS_SOCKET_URL``, ``make stack``)
    is added to ``connect-src`` under both schemes the client uses there."""
    connect = "'self'"
    if socket_url:
        secure = socket_url.startswith("https://")
        host = socket_url.split("://", 1)[-1].split("/", 1)[0]
        connect += f" {socket_url.split('://', 1)[0]}://{host} {'wss' if secure else 'ws'}://{host}"
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()
# Two years, subdomains included: sent only on HTTPS (a browser ignores it over HTTP anyway,
# and a development server on http://127.0.0.1 must not pin itself to HTTPS).
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"


def register_security_headers(app: Flask) -> None:
    """Set the headers on every response (a view that set its own keeps it)."""

    policy = content_security_policy(app.config["OMS_SOCKET_URL"])

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        # Behind a proxy that ends TLS, request.is_secure comes from X-Forwarded-Proto, which
        # ProxyFix believes only from the OMS_PROXY_HOPS trusted proxies.
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        return response
