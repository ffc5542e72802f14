"""Named errors of the exports domain."""

from __future__ import annotations

from oms.errors import ConflictError


class ExportNotActive(ConflictError):
    """Only a queued or running export can be cancelled."""

    code = "export_not_active"

    def __init__(self, status: str) -> None:
        super().__init__(
            "Only a queued or running export can be cancelled.", details={"status": status}
        )


class ExportNotFinished(ConflictError):
    """The file exists only once the export is finished."""

    code = "export_not_finished"

    def __init__(self, status: str) -> None:
        super().__init__(
            "The export is not finished; download it once its status is finished.",
            details={"status": status},
        )
