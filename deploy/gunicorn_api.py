"""gunicorn settings of the API processes (the Procfile's and compose's ``web``):
``gunicorn -c deploy/gunicorn_api.py --bind HOST:PORT wsgi:app``.

``OMS_WEB_WORKERS`` processes (default: one per core, so the API uses every core), each with
``OMS_WEB_THREADS`` threads; the database pool of each is sized from the threads. Socket.IO is
not served here (``OMS_SOCKETIO=separate``): the ``socket`` process holds the WebSockets, so
no dashboard ever takes an API thread.

The worker is gthread's, except that a request gets a thread only once it has wholly arrived
(``oms.http_worker``): slow or stalled clients hold no thread, and one that has not sent its
whole request within ``OMS_REQUEST_SECONDS`` (20) is dropped.
"""

import faulthandler
import os

from oms import gunicorn as shared

# First: prometheus_client reads it when a worker imports the app (see oms/gunicorn.py).
shared.metrics_dir("api")

# gthread, a request getting a thread once it has arrived, refusals in the envelope
worker_class = "oms.http_worker.BufferingThreadWorker"
workers = int(os.environ.get("OMS_WEB_WORKERS") or os.cpu_count() or 1)
threads = int(os.environ.get("OMS_WEB_THREADS") or 16)
forwarded_allow_ips = os.environ.get("OMS_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
limit_request_line = 8190
graceful_timeout = 30
logconfig_dict = shared.logconfig_dict()  # gunicorn's lines as JSON, like the app's
on_starting = shared.on_starting
child_exit = shared.child_exit
on_exit = shared.on_exit
# gunicorn's control socket has one default path per user ($XDG_RUNTIME_DIR or ~/.gunicorn):
# every API and socket process of every deployment on the host would share it, and a
# `gunicornc` command meant for one would reach whichever bound last. Off; signals suffice.
control_socket_disable = True
raw_env = ["OMS_SOCKETIO=separate"]


def post_worker_init(worker):
    """A worker killed by a fatal signal (a segfault in a C extension) first writes every
    thread's Python stack to the log: the one such crash seen left only gunicorn's line."""
    faulthandler.enable(all_threads=True)
