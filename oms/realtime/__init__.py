"""Socket.IO: who may connect, which rooms they sit in, and the relay of domain events.

Every process (web or Celery worker) relays the events it publishes through Flask-SocketIO;
with ``OMS_REDIS_URL`` set, Flask-SocketIO carries them over Redis to whichever web process
holds the browser's connection. Without Redis (the embedded default) it delivers in-process.
"""
