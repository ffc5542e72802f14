"""The webhook tests' receiver process, for the problems view's exhausted deliveries."""

from tests.webhooks.conftest import receiver  # noqa: F401 (a fixture)
