"""The order lifecycle state machine and the workflows that chain Celery tasks.
No HTTP and no SQL live here."""
