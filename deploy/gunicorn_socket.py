"""gunicorn settings of the Socket.IO processes (the Procfile's and compose's ``socket``):
``gunicorn -c deploy/gunicorn_socket.py --bind HOST:PORT oms.socket_server:app``.

gevent's worker holds each WebSocket on a greenlet, not a thread, so one process keeps
thousands of dashboards. ``OMS_SOCKET_WORKERS`` processes (default 1) share the port: the
browser connects WebSocket-only, so any process may take any connection (no sticky sessions),
and every process hears every event through Redis.
"""

import faulthandler
import os

worker_class = "oms.gunicorn_workers.GeventWorker"  # gevent; refusals in the envelope
workers = int(os.environ.get("OMS_SOCKET_WORKERS") or 1)
worker_connections = int(os.environ.get("OMS_SOCKET_CONNECTIONS") or 10000)
forwarded_allow_ips = os.environ.get("OMS_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
limit_request_line = 8190  # as the API processes (gunicorn_api.py)
graceful_timeout = 30
control_socket_disable = True  # one path per user, shared by every deployment: see gunicorn_api.py


def post_worker_init(worker):
    """As in gunicorn_api.py: a worker killed by a fatal signal logs its Python stacks."""
    faulthandler.enable(all_threads=True)
