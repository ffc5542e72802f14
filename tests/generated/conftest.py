"""Print how much the generated tests did (README "Generated tests" quotes these figures)."""

from __future__ import annotations

from tests.generated import fuzz_stats, requests_by_role


def pytest_terminal_summary(terminalreporter) -> None:
    if any(fuzz_stats.values()):
        terminalreporter.write_line(
            f"generated tests: {fuzz_stats['requests']} API requests, "
            f"{fuzz_stats['steps']} state-machine steps"
        )
    if requests_by_role:
        roles = ", ".join(f"{role} {count}" for role, count in sorted(requests_by_role.items()))
        terminalreporter.write_line(f"API requests by role: {roles}")
