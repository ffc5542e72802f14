"""The app with a route and a task that fail, for the error tracker test: ``flask --app
tests.ops.error_app run`` and ``celery -A tests.ops.error_app:celery worker``."""

from celery import shared_task

from oms import create_app

app = create_app()
celery = app.extensions["celery"]


@shared_task(name="tests.fail")
def fail() -> None:
    """A task that fails with an error nobody handles."""
    raise RuntimeError("a task failed on purpose")


@app.get("/fail")
def fail_in_request():
    """A request that fails with an error nobody handles."""
    raise RuntimeError("a request failed on purpose")


@app.get("/fail-in-task")
def queue_failing_task():
    """Queue the failing task (with this request's id in its headers)."""
    fail.delay()
    return {"queued": True}
