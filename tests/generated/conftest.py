"""Print how much the generated tests did (README "Generated tests" quotes these figures)."""

from __future__ import annotations

from tests.generated import fuzz_stats


def pytest_terminal_summary(terminalreporter) -> None:
    if any(fuzz_stats.values()):
        terminalreporter.write_line(
            f"generated tests: {fuzz_stats['requests']} API requests, "
            f"{fuzz_stats['steps']} state-machine steps"
        )
