"""One exception class per failure. Each says which file (row, column where known),
what was expected, and what to do; `retryable` says whether trying again can help."""

from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.hint = hint
        self.message = message
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        text = (", ".join(where) + ": " if where else "") + self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class FileRefused(IngestError):
    """The file cannot be read at all; nothing of it was loaded."""


class EmptyFile(FileRefused):
    pass


class NotATextFile(FileRefused):
    pass


class UnknownFormat(FileRefused):
    pass


class EntityNotRecognised(FileRefused):
    pass


class DialectNotRecognised(FileRefused):
    pass


class FileChanged(FileRefused):
    """The file changed while it was read (an export still being written): nothing of it was
    loaded. Loading it again once the export has finished can succeed."""

    retryable = True


class FileUnreadable(FileRefused):
    """The operating system would not let us read the file (permissions, a broken link, a link
    leading out of the folder given). Fix the file, then load again."""
