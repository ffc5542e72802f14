"""Entry point of the Socket.IO process (the Procfile's and compose's ``socket``):
``gunicorn -c deploy/gunicorn_socket.py oms.socket_server:app``.

gunicorn's gevent worker has patched the standard library before this runs, so Redis and the
message queue's listener wait on greenlets; psycopg2 is C and needs psycogreen to do the same,
or one login check on connect would stop every connection of the process.
"""

from psycogreen.gevent import patch_psycopg

from oms import create_app

patch_psycopg()

app = create_app({"OMS_SOCKETIO": "server"})
