"""The Flask application: ``create_app`` is a list of named registration steps."""

from __future__ import annotations

from flask import Flask

from oms.config import instance_dir, load_config


def create_app(config: dict | None = None) -> Flask:
    """Build the application; ``config`` overrides what the environment says (tests use it)."""
    app = Flask(
        __name__,
        instance_path=str(instance_dir()),
        template_folder="../templates",
        static_folder="static",
    )
    app.config.update(load_config(config))
    configure_proxy(app)
    configure_logger(app)
    register_extensions(app)
    register_request_hooks(app)
    register_errorhandlers(app)
    register_blueprints(app)
    register_realtime(app)
    register_webhooks(app)
    register_commands(app)
    return app


def configure_proxy(app: Flask) -> None:
    """Behind ``OMS_PROXY_HOPS`` trusted proxies, take the client's address, scheme and host
    from their X-Forwarded-* headers (rate limits and logs then see the real client). Off by
    default: without a proxy those headers are the client's own and must not be believed."""
    hops = app.config["OMS_PROXY_HOPS"]
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Flask's documented way to wrap the WSGI app
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )


def configure_logger(app: Flask) -> None:
    """JSON log lines at ``OMS_LOG_LEVEL``."""
    from oms.logging import configure_logging

    configure_logging(app.config["OMS_LOG_LEVEL"])


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions (database, JWT, limiter, Celery, Socket.IO) to ``app``."""
    from oms import models  # noqa: F401  (mappers must know every table)
    from oms.auth import tokens
    from oms.extensions import api, celery_init_app, db, jwt, limiter, migrate, socketio

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    jwt.init_app(app)
    tokens.register_jwt_callbacks(jwt)
    limiter.init_app(app)
    api.init_app(app)
    # Handlers must be declared before init_app, so every app's server gets them.
    from oms.realtime import handlers  # noqa: F401

    init_socketio(app, socketio)
    celery_init_app(app)


def init_socketio(app: Flask, socketio) -> None:
    """Bind Socket.IO as ``OMS_SOCKETIO`` says: served here on threads (``embedded``), not
    served here at all (``separate``: events only leave through Redis, for the socket
    process), or served here on gevent's greenlets, WebSocket only (``server``:
    ``oms.socket_server``).

    WebSocket only, because a long-polling session is tied to the process that opened it and
    several socket processes behind one address would need sticky sessions for it."""
    mode = app.config["OMS_SOCKETIO"]
    # Flask-SocketIO keeps the previous app's options; each app decides its own (several
    # apps live in one test process).
    socketio.server_options.pop("client_manager", None)
    socketio.init_app(
        None if mode == "separate" else app,  # no app: a write-only Redis manager
        message_queue=app.config["OMS_REDIS_URL"],
        channel=f"{app.config['OMS_REDIS_NAMESPACE']}:socketio",
        async_mode="gevent" if mode == "server" else "threading",
        transports=["websocket"] if mode == "server" else None,
        # None: the page must come from the address it connects to
        cors_allowed_origins=_socket_origins(app) if mode == "server" else None,
    )


def _socket_origins(app: Flask):
    """Same-origin pages, and those of ``OMS_SOCKET_ALLOWED_ORIGINS`` (``make stack``'s
    pages are served from the API's port)."""
    allowed = set(app.config["OMS_SOCKET_ALLOWED_ORIGINS"])
    if not allowed:
        return None

    def accepts(origin, environ) -> bool:
        own = f"{environ['wsgi.url_scheme']}://{environ.get('HTTP_HOST', '')}"
        return origin in allowed or origin == own

    return accepts


def register_realtime(app: Flask) -> None:
    """Relay published events to the Socket.IO rooms."""
    from oms.realtime.relay import register_relay

    register_relay()


def register_webhooks(app: Flask) -> None:
    """Fan every published event out to the webhook endpoints subscribed to it."""
    from oms.webhooks import service

    service.register()


def register_request_hooks(app: Flask) -> None:
    """Content checks, request logging and security headers around every request."""
    from oms.api.content import register_content_checks
    from oms.headers import register_security_headers
    from oms.logging import register_request_logging

    register_request_logging(app)
    register_content_checks(app)
    register_security_headers(app)


def register_errorhandlers(app: Flask) -> None:
    """The one error envelope for every error."""
    from oms.errors import register_error_handlers

    register_error_handlers(app)


def register_blueprints(app: Flask) -> None:
    """The API, the pages and the metrics endpoint."""
    from oms.api import auth, customers, docs, health, orders, products, users
    from oms.extensions import api
    from oms.metrics import register_metrics
    from oms.web import views

    app.register_blueprint(health.blp)
    register_metrics(app)
    app.register_blueprint(docs.blp)
    app.register_blueprint(views.blp)
    api.register_blueprint(auth.blp, url_prefix="/api/v1/auth")
    api.register_blueprint(users.blp, url_prefix="/api/v1/users")
    api.register_blueprint(orders.blp, url_prefix="/api/v1/orders")
    api.register_blueprint(orders.customer_orders_blp, url_prefix="/api/v1/customers")
    from oms.openapi import document_choices

    carriers = [carrier["code"] for carrier in app.config["OMS_CARRIERS"]]
    document_choices(api, "StatusChange", "carrier", carriers)
    api.register_blueprint(products.blp, url_prefix="/api/v1/products")
    api.register_blueprint(customers.blp, url_prefix="/api/v1/customers")
    from oms.api import reports

    api.register_blueprint(reports.blp, url_prefix="/api/v1/reports")
    from oms.api import analytics

    api.register_blueprint(analytics.blp, url_prefix="/api/v1/reports/analytics")
    from oms.api import webhooks

    api.register_blueprint(webhooks.blp, url_prefix="/api/v1/webhooks")
    from oms.api import audit

    api.register_blueprint(audit.blp, url_prefix="/api/v1/audit")
    from oms.api import ops

    api.register_blueprint(ops.blp, url_prefix="/api/v1/ops")


def register_commands(app: Flask) -> None:
    """The ``flask`` CLI commands (users, database, demo)."""
    from oms.cli import register_cli

    register_cli(app)
