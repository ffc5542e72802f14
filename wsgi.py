"""Entry point: ``app`` for gunicorn and ``flask --app wsgi``; ``celery`` for
``celery -A wsgi:celery``."""

from oms import create_app

app = create_app()
celery = app.extensions["celery"]
