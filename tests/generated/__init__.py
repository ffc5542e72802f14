"""Generated tests: schemathesis over the API document, a state machine over the services."""

from collections import Counter

# Counted by the generated tests, printed at the end of the run (tests/generated/conftest.py).
fuzz_stats = {"requests": 0, "steps": 0}
# The API requests of each role (customer, staff, admin).
requests_by_role: Counter = Counter()
