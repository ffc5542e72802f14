"""Celery task modules, one per kind of work. Tasks are thin: they take ids, open an app
context (the Flask Task class does it), call a service, and are safe to run twice."""
