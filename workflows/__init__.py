"""The order lifecycle: the python-statemachine definition that alone decides which status
changes exist, who may make them and which ones the customer hears of.

It holds no HTTP, no SQL and no tasks: ``oms.orders.actions`` asks it and records the answer.
The fulfilment itself is not a chain of Celery tasks but one task per step, each started by a
committed change through the outbox (``oms/outbox``), so a step is never lost between two
others (see docs/architecture.md)."""
