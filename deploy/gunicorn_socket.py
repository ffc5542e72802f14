"""gunicorn settings of the Socket.IO processes (the Procfile's and compose's ``socket``):
``gunicorn -c deploy/gunicorn_socket.py --bind HOST:PORT oms.socket_server:app``.

gevent's worker holds each connection on a greenlet, not a thread, so one process keeps
thousands of dashboards. One process per port: a long-polling session (how a Socket.IO client
starts at its defaults) lives in the process that opened it, and processes sharing a port
would take its requests in turn. More processes go behind the proxy, which keeps each client
on one of them (deploy/nginx.conf); every process hears every event through Redis.
"""

import faulthandler
import os

from oms import gunicorn as shared

# First: prometheus_client reads it when a worker imports the app (see oms/gunicorn.py).
shared.metrics_dir("socket")

worker_class = "oms.gunicorn_workers.GeventWorker"  # gevent; refusals in the envelope
workers = 1
worker_connections = int(os.environ.get("OMS_SOCKET_CONNECTIONS") or 10000)
forwarded_allow_ips = os.environ.get("OMS_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
limit_request_line = 8190  # as the API processes (gunicorn_api.py)
graceful_timeout = 30
logconfig_dict = shared.logconfig_dict()  # gunicorn's lines as JSON, like the app's
on_starting = shared.on_starting
child_exit = shared.child_exit
on_exit = shared.on_exit
control_socket_disable = True  # one path per user, shared by every deployment: see gunicorn_api.py


def post_worker_init(worker):
    """As in gunicorn_api.py: a worker killed by a fatal signal logs its Python stacks."""
    faulthandler.enable(all_threads=True)
