"""A problem in a rooms file: where (file, line, field) and what to fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1-based; 0 when the file could not be read at all
    field: str  # where in the document, e.g. "rooms[1].pin"
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"

    def as_warning(self) -> str:
        """For a problem that does not stop the file from being used."""
        return f"{self.file}:{self.line}: {self.field}: warning: {self.message}"


class RoomsFileError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems
