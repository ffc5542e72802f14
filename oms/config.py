"""Settings, read only from ``OMS_*`` environment variables.

Development needs no settings at all (the embedded default: a SQLite file under ``instance/``,
Celery tasks run in-process, no Redis). Production (``OMS_ENV=production``) refuses to start
without its secrets, and says which one is missing.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import cast, overload
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from flask.sansio.scaffold import find_package
from limits import parse_many

import celery_config
from oms import iso_codes


def instance_dir() -> Path:
    """Where development secrets and the embedded SQLite database live (``OMS_INSTANCE_DIR``);
    by default where Flask puts an instance folder: ``instance/`` of a source checkout, and
    ``<venv>/var/oms-instance`` for the installed wheel (never inside site-packages)."""
    configured = os.environ.get("OMS_INSTANCE_DIR")
    if configured:
        return Path(configured)
    prefix, package_path = find_package("oms")
    if prefix is None:
        return Path(package_path) / "instance"
    return Path(prefix) / "var" / "oms-instance"


class ConfigurationError(RuntimeError):
    """The environment does not describe a runnable application."""


@overload
def _env(name: str) -> str | None: ...
@overload
def _env(name: str, default: str) -> str: ...
@overload
def _env(name: str, default: str | None) -> str | None: ...


def _env(name: str, default: str | None = None) -> str | None:
    """The variable's value, or ``default`` when it is unset or empty."""
    value = os.environ.get(name)
    return value if value else default


def _env_number(name: str, default, kind: type):
    raw = _env(name)
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        what = "an integer" if kind is int else "a number"
        raise ConfigurationError(f"{name} must be {what}, got {raw!r}") from exc


def _env_int(name: str, default: int) -> int:
    return _env_number(name, default, int)


def _env_float(name: str, default: float) -> float:
    return _env_number(name, default, float)


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_limit(name: str, default: str) -> str:
    """A rate limit string ("5 per minute; 20 per hour"), refused at start when it does not
    parse (a limit that fails at request time would silently stop limiting)."""
    value = _env(name, default)
    try:
        parse_many(value)
    except ValueError as exc:
        raise ConfigurationError(
            f"{name} must be rate limits like '10 per minute; 100 per hour', got {value!r}"
        ) from exc
    return value


def _env_currency(name: str, default: str) -> str:
    """An ISO 4217 code ("EUR"), refused at start when it is not one (every page would show
    amounts in a currency that does not exist)."""
    value = _env(name, default).strip().upper()
    if not iso_codes.is_currency(value):
        raise ConfigurationError(
            f"{name} must be an ISO 4217 currency code like EUR, got {value!r}"
        )
    return value


def _env_log_format(name: str) -> str:
    """``json`` or ``text``, refused at start otherwise."""
    from oms.logging import FORMATS

    value = _env(name, "json").strip().lower()
    if value not in FORMATS:
        raise ConfigurationError(f"{name} must be one of {', '.join(FORMATS)}, got {value!r}")
    return value


# Carriers offered when shipping, each with the link to its tracking page ({tracking_number}
# is replaced by the number, URL-encoded). OMS_CARRIERS replaces the whole list.
DEFAULT_CARRIERS: list[dict[str, str | None]] = [
    {
        "code": "dhl",
        "name": "DHL Express",
        "tracking_url": "https://www.dhl.com/global-en/home/tracking/tracking-express.html"
        "?submit=1&tracking-id={tracking_number}",
    },
    {
        "code": "ups",
        "name": "UPS",
        "tracking_url": "https://www.ups.com/track?tracknum={tracking_number}",
    },
    {
        "code": "fedex",
        "name": "FedEx",
        "tracking_url": "https://www.fedex.com/fedextrack/?trknbr={tracking_number}",
    },
    {
        "code": "dpd",
        "name": "DPD",
        "tracking_url": "https://tracking.dpd.de/status/en_US/parcel/{tracking_number}",
    },
    {"code": "gls", "name": "GLS", "tracking_url": "https://gls-group.com/track/{tracking_number}"},
    {
        "code": "postnord",
        "name": "PostNord",
        "tracking_url": "https://tracking.postnord.com/en/?id={tracking_number}",
    },
    {
        "code": "bring",
        "name": "Posten Bring",
        "tracking_url": "https://tracking.bring.com/tracking/{tracking_number}",
    },
    {
        "code": "usps",
        "name": "USPS",
        "tracking_url": "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking_number}",
    },
    {"code": "other", "name": "Other carrier", "tracking_url": None},
]
_CARRIER_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _env_carriers(name: str) -> list[dict]:
    """The carrier list: a JSON list of ``{"code", "name", "tracking_url"}`` (the URL may be
    null: no link), checked at start so a typo never reaches a customer's email."""
    raw = _env(name)
    if raw is None:
        return [dict(c) for c in DEFAULT_CARRIERS]
    try:
        carriers = json.loads(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a JSON list of carriers: {exc}") from exc
    if not isinstance(carriers, list) or not carriers:
        raise ConfigurationError(f"{name} must be a non-empty JSON list of carriers")
    seen: set[str] = set()
    for carrier in carriers:
        if not isinstance(carrier, dict) or set(carrier) - {"code", "name", "tracking_url"}:
            raise ConfigurationError(
                f'{name}: each carrier is {{"code", "name", "tracking_url"}}, got {carrier!r}'
            )
        code, label, url = carrier.get("code"), carrier.get("name"), carrier.get("tracking_url")
        if not isinstance(code, str) or not _CARRIER_CODE.match(code) or code in seen:
            raise ConfigurationError(
                f"{name}: carrier codes are unique lower-case words (a-z, 0-9, - or _), "
                f"got {code!r}"
            )
        if not isinstance(label, str) or not label.strip():
            raise ConfigurationError(f"{name}: carrier {code!r} needs a name")
        if url is not None and not (
            isinstance(url, str)
            and url.startswith(("https://", "http://"))
            and "{tracking_number}" in url
        ):
            raise ConfigurationError(
                f"{name}: the tracking_url of {code!r} must be an http(s) URL with "
                "{tracking_number} in it, or null"
            )
        seen.add(code)
    return carriers


def _development_secret(name: str) -> str:
    """A random secret generated once and kept under instance/, so restarts keep sessions."""
    folder = instance_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _env_encryption_keys(name: str, secret_key: str) -> list[str]:
    """Fernet keys, comma-separated: the first encrypts, all decrypt (a key is rotated by
    putting a new one first). Unset (development, testing): one derived from the app's
    secret key, which the instance folder keeps; production requires the setting."""
    raw = _env(name)
    if raw is None:
        digest = hashlib.sha256(b"oms webhook secrets\0" + secret_key.encode()).digest()
        return [base64.urlsafe_b64encode(digest).decode()]
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    for key in keys:
        try:
            Fernet(key)
        except ValueError as exc:
            raise ConfigurationError(
                f"{name} must be comma-separated Fernet keys (32 url-safe base64-encoded "
                "bytes each; the README's Configuration shows how to make one)"
            ) from exc
    if not keys:
        raise ConfigurationError(f"{name} must name at least one Fernet key")
    return keys


# Drivers SQLAlchemy would pick for a bare ``postgresql://`` (psycopg 3 since 2.1) versus the
# one this project installs; hosting platforms and libpq tools hand out the bare forms.
_POSTGRES_SCHEMES = {"postgres", "postgresql"}


def database_uri(url: str) -> str:
    """``url`` with a bare ``postgres://`` or ``postgresql://`` mapped to the installed driver
    (psycopg2); any URL that names its driver is kept as it is."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in _POSTGRES_SCHEMES:
        return f"postgresql+psycopg2://{rest}"
    return url


def engine_options(database_url: str, *, pool_size: int, max_overflow: int) -> dict:
    """SQLAlchemy engine options: a PostgreSQL pool as large as the web threads, so a burst
    never waits for a connection (SQLite keeps SQLAlchemy's own pool)."""
    options: dict = {"pool_pre_ping": True}
    if database_url.startswith("postgresql"):
        options.update(pool_size=pool_size, max_overflow=max_overflow, pool_timeout=10)
    return options


def redis_namespace(redis_url: str | None) -> str:
    """The prefix of every Redis name this deployment uses, from its Redis URL (host, port and
    db): pub/sub channels ignore the db number, so two deployments on one Redis server would
    otherwise hear each other."""
    if not redis_url:
        return "oms"
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        db = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("db", "0")
        return f"oms:{parts.path}:{db}"
    db = (parts.path or "/0").lstrip("/") or "0"
    return f"oms:{parts.hostname or 'localhost'}:{parts.port or 6379}:{db}"


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or address, with or without ``:port``) is one browsers treat as
    secure over plain HTTP (loopback addresses and ``localhost`` names): only there do they
    keep ``Secure`` cookies from an ``http://`` page."""
    try:
        name = (urlsplit(f"//{host}").hostname or "").rstrip(".")
    except ValueError:  # an unbalanced "[" in a Host header
        return False
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def plain_http_public_url(config: dict) -> str | None:
    """A warning when production's ``OMS_PUBLIC_URL`` is ``http://`` for a host other than
    loopback: its browsers drop the ``Secure`` login cookies, and emails link there."""
    url = config["OMS_PUBLIC_URL"]
    parts = urlsplit(url)
    if config["OMS_ENV"] != "production" or parts.scheme != "http":
        return None
    if is_loopback_host(parts.netloc):
        return None
    return (
        f"OMS_PUBLIC_URL is {url}: plain HTTP for a host that is not loopback. Browsers drop "
        "the Secure login cookies there, so nobody can log in: serve the site over HTTPS (the "
        "compose proxy does; README, Deploying) and set OMS_PUBLIC_URL to its https:// address."
    )


SOCKETIO_MODES = ("embedded", "separate", "server")


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment, then apply ``overrides``."""
    env = _env("OMS_ENV", "development")
    if env not in {"development", "production", "testing"}:
        raise ConfigurationError(f"OMS_ENV must be development, production or testing, got {env!r}")
    production = env == "production"

    secret_key = _env("OMS_SECRET_KEY")
    jwt_secret = _env("OMS_JWT_SECRET_KEY")
    if production:
        # The metrics token too: /metrics is served on the public port, and its figures
        # (order counts, queue depths, routes) are not for everyone. The public URL: every
        # link in an email would otherwise point at a development address.
        required = (
            ("OMS_SECRET_KEY", secret_key),
            ("OMS_JWT_SECRET_KEY", jwt_secret),
            ("OMS_METRICS_TOKEN", _env("OMS_METRICS_TOKEN")),
            ("OMS_WEBHOOKS_ENCRYPTION_KEYS", _env("OMS_WEBHOOKS_ENCRYPTION_KEYS")),
            ("OMS_PUBLIC_URL", _env("OMS_PUBLIC_URL")),
        )
        missing = [name for name, value in required if not value]
        if missing:
            raise ConfigurationError(
                "OMS_ENV=production needs these settings: " + ", ".join(missing)
            )
    secret_key = secret_key or _development_secret("secret_key")
    jwt_secret = jwt_secret or _development_secret("jwt_secret_key")

    database_url = database_uri(
        _env("OMS_DATABASE_URL", f"sqlite:///{instance_dir() / 'oms.sqlite3'}")
    )
    redis_url = _env("OMS_REDIS_URL")
    broker_url = _env("OMS_BROKER_URL", redis_url)
    web_threads = _env_int("OMS_WEB_THREADS", 16)
    socketio_mode = _env("OMS_SOCKETIO", "embedded")

    config = {
        "OMS_ENV": env,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(
            database_url,
            pool_size=_env_int("OMS_DB_POOL_SIZE", web_threads + 2),
            max_overflow=_env_int("OMS_DB_MAX_OVERFLOW", 10),
        ),
        "OMS_WEB_THREADS": web_threads,
        "MAX_CONTENT_LENGTH": _env_int("OMS_MAX_BODY_BYTES", 1024 * 1024),
        "OMS_REDIS_URL": redis_url,
        "OMS_REDIS_NAMESPACE": _env("OMS_REDIS_NAMESPACE"),
        # Trusted reverse proxies in front of the app (X-Forwarded-For/-Proto/-Host); 0: none.
        "OMS_PROXY_HOPS": _env_int("OMS_PROXY_HOPS", 0),
        # Compress answers here (gzip, brotli or zstd, as the client accepts): on where no
        # proxy is in front to do it (compose's does), so the app's threads are spared there.
        "OMS_COMPRESS": _env_bool("OMS_COMPRESS", _env_int("OMS_PROXY_HOPS", 0) == 0),
        # a streamed export stays streamed (compressing it would read it all into memory)
        "COMPRESS_STREAMS": False,
        "COMPRESS_MIN_SIZE": 1024,
        "OMS_BCRYPT_ROUNDS": _env_int("OMS_BCRYPT_ROUNDS", 12),
        "OMS_LOG_LEVEL": _env("OMS_LOG_LEVEL", "INFO"),
        # every process's lines: one JSON object each, or readable text for development
        "OMS_LOG_FORMAT": _env_log_format("OMS_LOG_FORMAT"),
        # unhandled errors of web and worker processes go to Sentry (or GlitchTip) when set
        "OMS_SENTRY_DSN": _env("OMS_SENTRY_DSN"),
        "OMS_LOW_STOCK_THRESHOLD": _env_int("OMS_LOW_STOCK_THRESHOLD", 5),
        # Money on every page is formatted in this currency (ISO 4217) by the browser.
        "OMS_CURRENCY": _env_currency("OMS_CURRENCY", "EUR"),
        "OMS_CARRIERS": _env_carriers("OMS_CARRIERS"),
        # JWT: header tokens for API clients, HttpOnly cookies with CSRF for browsers.
        "JWT_SECRET_KEY": jwt_secret,
        "JWT_TOKEN_LOCATION": ["headers", "cookies"],
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=_env_int("OMS_ACCESS_TOKEN_MINUTES", 15)),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=_env_int("OMS_REFRESH_TOKEN_DAYS", 14)),
        "JWT_COOKIE_SECURE": _env_bool("OMS_COOKIE_SECURE", production),
        "JWT_COOKIE_SAMESITE": "Lax",
        "JWT_COOKIE_CSRF_PROTECT": True,
        "JWT_SESSION_COOKIE": False,
        # Rate limiting (every limit is in oms.limits): each request counts against its user's
        # budget by role, or its address's without a login; login counts failed attempts per
        # account and per address; registration per address. Redis storage when Redis is
        # configured, memory otherwise; when the storage is unreachable the limiter counts in
        # memory and logs a warning instead of failing requests.
        "RATELIMIT_ENABLED": _env_bool("OMS_RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": _env("OMS_RATELIMIT_STORAGE_URL", redis_url or "memory://"),
        "OMS_RATELIMIT_ANONYMOUS": _env_limit("OMS_RATELIMIT_ANONYMOUS", "300 per minute"),
        "OMS_RATELIMIT_CUSTOMER": _env_limit("OMS_RATELIMIT_CUSTOMER", "120 per minute"),
        "OMS_RATELIMIT_STAFF": _env_limit("OMS_RATELIMIT_STAFF", "600 per minute"),
        "OMS_RATELIMIT_ADMIN": _env_limit("OMS_RATELIMIT_ADMIN", "600 per minute"),
        "OMS_RATELIMIT_LOGIN_ACCOUNT": _env_limit(
            "OMS_RATELIMIT_LOGIN_ACCOUNT", "5 per minute; 10 per 15 minutes; 20 per hour"
        ),
        "OMS_RATELIMIT_LOGIN_ADDRESS": _env_limit(
            "OMS_RATELIMIT_LOGIN_ADDRESS", "20 per minute; 100 per hour"
        ),
        "OMS_RATELIMIT_LOGIN_DEVICE": _env_limit(
            "OMS_RATELIMIT_LOGIN_DEVICE", "10 per 15 minutes; 20 per hour"
        ),
        "OMS_LOGIN_DEVICE_DAYS": _env_int("OMS_LOGIN_DEVICE_DAYS", 90),
        "OMS_RATELIMIT_REGISTER": _env_limit("OMS_RATELIMIT_REGISTER", "5 per minute; 20 per hour"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # The X-RateLimit-* headers on every answer; Retry-After only where a client must wait
        # (a 429 sets it from the breached limit, a 503 or a 409 in progress their own), not
        # the window's reset on every success.
        "RATELIMIT_HEADER_RETRY_AFTER": "X-RateLimit-Retry-After",
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # A Redis that hangs must not hang the requests (redis-py waits forever by default):
        # after a second the limiter gives up on it and counts in memory.
        "RATELIMIT_STORAGE_OPTIONS": (
            {"socket_connect_timeout": 1, "socket_timeout": 1}
            if (_env("OMS_RATELIMIT_STORAGE_URL", redis_url) or "").startswith("redis")
            else {}
        ),
        # Celery: with no broker configured, tasks run inside the web process (embedded default).
        "CELERY": celery_config.settings_from(
            broker_url=broker_url,
            result_backend=_env("OMS_RESULT_BACKEND_URL", redis_url),
            relay_seconds=_env_float("OMS_OUTBOX_RELAY_SECONDS", 5.0),
            sweep_seconds=_env_float("OMS_PENDING_SWEEP_SECONDS", 30.0),
            resend_seconds=_env_float("OMS_NOTIFICATION_SWEEP_SECONDS", 60.0),
            webhook_seconds=_env_float("OMS_WEBHOOKS_SWEEP_SECONDS", 15.0),
            reconcile_seconds=_env_float("OMS_RECONCILE_SECONDS", 300.0),
        ),
        # With no broker (tasks in-process), the web process runs beat's schedule on a thread
        # of its own (oms.scheduler); off, nothing runs the periodic work.
        "OMS_EMBEDDED_SCHEDULER": _env_bool("OMS_EMBEDDED_SCHEDULER", True),
        # Customer email: SMTP when OMS_SMTP_URL is set, else .eml files in OMS_MAIL_DIR.
        # A reservation task decides up to this many of the oldest pending orders with its own
        # in one transaction: a burst is decided at the batch rate (1 = one order per task).
        "OMS_RESERVE_BATCH": _env_int("OMS_RESERVE_BATCH", 50),
        "OMS_SMTP_URL": _env("OMS_SMTP_URL"),
        "OMS_SMTP_TIMEOUT": _env_int("OMS_SMTP_TIMEOUT", 10),
        "OMS_MAIL_FROM": _env("OMS_MAIL_FROM", "Orders <orders@example.com>"),
        "OMS_MAIL_DIR": _env("OMS_MAIL_DIR", str(instance_dir() / "mail")),
        # A notification unsent, unclaimed and untried this long lost its task: beat queues it
        # again. A sending task holds its row for OMS_NOTIFICATION_LEASE_SECONDS (longer than
        # an SMTP conversation may take) so no other copy sends meanwhile.
        "OMS_NOTIFICATION_RESEND_MINUTES": _env_float("OMS_NOTIFICATION_RESEND_MINUTES", 10.0),
        "OMS_NOTIFICATION_LEASE_SECONDS": _env_float("OMS_NOTIFICATION_LEASE_SECONDS", 300.0),
        # The address people open the site at, for links in emails (password reset, the
        # order). Never taken from a request's Host header, which a client chooses; `make run`
        # and `make stack` set it from their HOST and PORT; required in production.
        "OMS_PUBLIC_URL": _env("OMS_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        "OMS_PASSWORD_RESET_MINUTES": _env_int("OMS_PASSWORD_RESET_MINUTES", 30),
        # how long the link that activates a self-registered account works (once)
        "OMS_EMAIL_CONFIRMATION_MINUTES": _env_int("OMS_EMAIL_CONFIRMATION_MINUTES", 24 * 60),
        "OMS_RATELIMIT_PASSWORD_RESET": _env_limit(
            "OMS_RATELIMIT_PASSWORD_RESET", "5 per minute; 20 per hour"
        ),
        # Where Socket.IO is served: "embedded" (this web process, on threads: the one-process
        # default), "separate" (not here: this process only emits through Redis, and the
        # Procfile's and compose's `socket` process serves it). oms.socket_server sets "server".
        "OMS_SOCKETIO": socketio_mode,
        # Where pages open their Socket.IO connection: empty is the page's own origin (the
        # embedded default, and behind compose's proxy); `make stack` names the socket port.
        "OMS_SOCKET_URL": _env("OMS_SOCKET_URL", "").rstrip("/"),
        # Page origins a Socket.IO process accepts besides its own (comma-separated).
        "OMS_SOCKET_ALLOWED_ORIGINS": [
            origin.strip().rstrip("/")
            for origin in _env("OMS_SOCKET_ALLOWED_ORIGINS", "").split(",")
            if origin.strip()
        ],
        # How often each web process re-checks its Socket.IO connections' logins.
        "OMS_SOCKET_RECHECK_SECONDS": _env_float("OMS_SOCKET_RECHECK_SECONDS", 10.0),
        # /metrics: a Bearer token (required in production); open when unset in development.
        "OMS_METRICS_TOKEN": _env("OMS_METRICS_TOKEN"),
        # Exports: CSV files written by the reports worker, kept OMS_EXPORT_RETENTION_HOURS.
        "OMS_EXPORT_DIR": _env("OMS_EXPORT_DIR", str(instance_dir() / "exports")),
        "OMS_EXPORT_RETENTION_HOURS": _env_float("OMS_EXPORT_RETENTION_HOURS", 72.0),
        # A running export whose heartbeat is older than this lost its worker: it is retried
        # until OMS_EXPORT_MAX_ATTEMPTS runs were started, then marked failed.
        "OMS_EXPORT_STALE_SECONDS": _env_float("OMS_EXPORT_STALE_SECONDS", 300.0),
        "OMS_EXPORT_MAX_ATTEMPTS": _env_int("OMS_EXPORT_MAX_ATTEMPTS", 2),
        # Progress events (and heartbeats) of a running export at most this often.
        "OMS_EXPORT_PROGRESS_SECONDS": _env_float("OMS_EXPORT_PROGRESS_SECONDS", 0.5),
        # Backups (`flask backup ...`, compose's `backup` service): the database's pg_dump and a
        # tar of the export folder, the newest OMS_BACKUP_KEEP kept, one every
        # OMS_BACKUP_INTERVAL_HOURS when scheduled.
        "OMS_BACKUP_DIR": _env("OMS_BACKUP_DIR", str(instance_dir() / "backups")),
        "OMS_BACKUP_KEEP": _env_int("OMS_BACKUP_KEEP", 14),
        "OMS_BACKUP_INTERVAL_HOURS": _env_float("OMS_BACKUP_INTERVAL_HOURS", 24.0),
        # Webhooks: endpoints on private, loopback or link-local addresses are refused unless
        # OMS_WEBHOOKS_ALLOW_PRIVATE (a test receiver on 127.0.0.1, a private network).
        "OMS_WEBHOOKS_ALLOW_PRIVATE": _env_bool("OMS_WEBHOOKS_ALLOW_PRIVATE", False),
        # Endpoint secrets are stored encrypted with these Fernet keys (oms.webhooks.signing).
        "OMS_WEBHOOKS_ENCRYPTION_KEYS": _env_encryption_keys(
            "OMS_WEBHOOKS_ENCRYPTION_KEYS", secret_key
        ),
        "OMS_WEBHOOKS_TIMEOUT_SECONDS": _env_float("OMS_WEBHOOKS_TIMEOUT_SECONDS", 10.0),
        # attempt n waits BASE * 3**(n-1) (+-20 % jitter): 8 attempts span about a day
        "OMS_WEBHOOKS_MAX_ATTEMPTS": _env_int("OMS_WEBHOOKS_MAX_ATTEMPTS", 8),
        "OMS_WEBHOOKS_RETRY_BASE_SECONDS": _env_float("OMS_WEBHOOKS_RETRY_BASE_SECONDS", 80.0),
        # an endpoint failing without a success for this long is disabled
        "OMS_WEBHOOKS_DISABLE_AFTER_SECONDS": _env_float(
            "OMS_WEBHOOKS_DISABLE_AFTER_SECONDS", 86400.0
        ),
        # a delivery claimed this long ago lost its worker (timeout plus margin): sent again
        "OMS_WEBHOOKS_STALE_SECONDS": _env_float("OMS_WEBHOOKS_STALE_SECONDS", 60.0),
        # The problems view (/admin/problems): an order pending this long, an outbox row
        # unsent this long, is listed as stuck (the safety nets run well within both).
        "OMS_PROBLEM_PENDING_MINUTES": _env_float("OMS_PROBLEM_PENDING_MINUTES", 10.0),
        "OMS_PROBLEM_OUTBOX_MINUTES": _env_float("OMS_PROBLEM_OUTBOX_MINUTES", 5.0),
        # The stock reconciler (every OMS_RECONCILE_SECONDS) reports drift; it sets the counter
        # right only when this is on (off: a person looks first).
        "OMS_RECONCILE_REPAIR": _env_bool("OMS_RECONCILE_REPAIR", False),
        # How long a worker inspection (/admin/workers) or /readyz's ping waits for replies.
        "OMS_WORKER_INSPECT_TIMEOUT": _env_float("OMS_WORKER_INSPECT_TIMEOUT", 0.5),
        # How often a Socket.IO process holding an admin's connection pushes worker health.
        "OMS_WORKERS_PUSH_SECONDS": _env_float("OMS_WORKERS_PUSH_SECONDS", 5.0),
        # Flower's address for the workers page's link (empty: no link).
        "OMS_FLOWER_URL": _env("OMS_FLOWER_URL", "").rstrip("/") or None,
        # OpenAPI (flask-smorest)
        "API_TITLE": "Order fulfilment engine",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        # Swagger UI's files are served by the app itself (oms.api.docs), never from a CDN.
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs/assets/",
        # Security schemes, error responses and examples come from oms.openapi, per operation.
        "API_SPEC_OPTIONS": {
            "info": {
                "description": "JSON in and out; every error is the envelope "
                '`{"error": {"code", "message", "details", "request_id"}}`. '
                'Money is a decimal string with two places (`"12.50"`).'
            },
        },
    }
    if overrides:
        config.update(overrides)
    if config["OMS_SOCKETIO"] not in SOCKETIO_MODES:
        raise ConfigurationError(
            f"OMS_SOCKETIO must be embedded or separate, got {config['OMS_SOCKETIO']!r}"
        )
    if config["OMS_SOCKETIO"] != "embedded" and not config["OMS_REDIS_URL"]:
        raise ConfigurationError(
            "OMS_SOCKETIO=separate needs OMS_REDIS_URL: events reach the Socket.IO process "
            "through Redis"
        )
    keep, every = cast(int, config["OMS_BACKUP_KEEP"]), config["OMS_BACKUP_INTERVAL_HOURS"]
    if keep < 1:
        raise ConfigurationError(f"OMS_BACKUP_KEEP must be at least 1 (backups kept), got {keep}")
    if cast(float, every) <= 0:
        raise ConfigurationError(f"OMS_BACKUP_INTERVAL_HOURS must be more than 0, got {every}")
    # Derived after the overrides, so a test app on another Redis gets its own names.
    config["OMS_REDIS_NAMESPACE"] = config["OMS_REDIS_NAMESPACE"] or redis_namespace(
        cast("str | None", config["OMS_REDIS_URL"])
    )
    config.setdefault("RATELIMIT_KEY_PREFIX", f"{config['OMS_REDIS_NAMESPACE']}:limits")
    return config
