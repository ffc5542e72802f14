"""Generated tests: schemathesis over the API document, a state machine over the services."""

# Counted by the generated tests, printed at the end of the run (tests/generated/conftest.py).
fuzz_stats = {"requests": 0, "steps": 0}
