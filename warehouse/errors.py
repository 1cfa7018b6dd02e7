"""The warehouse's own failures. `retryable` says whether trying again can help."""

from __future__ import annotations

from pathlib import Path


class WarehouseError(Exception):
    """Something about the warehouse itself (not one export file) stopped the work."""

    retryable = False


class WarehouseBusy(WarehouseError):
    """Another process holds the DuckDB file for writing; retry when it has finished."""

    retryable = True

    def __init__(self, path: Path | str, what: str = "") -> None:
        self.path = Path(path)
        text = f"{self.path} is being written by another process"
        if what:
            text += f" ({what})"
        super().__init__(
            f"{text}; wait for it to finish (`crmw status` shows the running job) and try again, "
            "or read the published copy"
        )


class NoData(WarehouseError):
    """The warehouse holds no data for what was asked (nothing loaded yet, or nothing before a date)."""


class WarehouseWriteFailed(WarehouseError):
    """The warehouse file (or the lake, `what="lake"`) could not be written (a full disk, a file size
    limit). What was committed before stays; nothing of the failed write is kept. Retry once there
    is room."""

    retryable = True

    def __init__(self, path: Path | str, cause: BaseException, what: str = "warehouse") -> None:
        self.path = Path(path)
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        super().__init__(
            f"writing the {what} {path} failed ({reason}); the files loaded before stay "
            "loaded and nothing of the failed one was kept: free space and run the same command again"
        )
