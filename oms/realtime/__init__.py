"""Socket.IO: who may connect, which rooms they sit in, and the relay of domain events.

Every process (API, socket or Celery worker) relays the events it publishes through
Flask-SocketIO; with ``OMS_REDIS_URL`` set, Flask-SocketIO carries them over Redis to whichever
process serving Socket.IO holds the browser's connection (``OMS_SOCKETIO``: the web process
itself, or the separate socket processes). Without Redis (the embedded default) it delivers
in-process.
"""
