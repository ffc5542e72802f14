"""Named errors of the problems view."""

from __future__ import annotations

from oms.errors import ConflictError, NotFoundError


class ProblemNotFound(NotFoundError):
    """No such kind, or nothing of that kind with this id."""

    code = "not_found"

    def __init__(self, kind: str, problem_id: str) -> None:
        super().__init__(f"No {kind} {problem_id}.")


class NotStuck(ConflictError):
    """The thing exists but is no longer stuck (done meanwhile, or replayed already)."""

    code = "not_stuck"

    def __init__(self, kind: str, problem_id: str) -> None:
        super().__init__(f"The {kind} {problem_id} is not stuck any more; nothing to replay.")
