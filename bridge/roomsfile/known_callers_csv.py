"""A directory of known numbers as CSV (``iobridge directory import FILE.csv``): one
caller a line, ``number,name,place`` (place may be empty), a header line optional. Every
problem is reported with its line; any problem and nothing is imported."""

from __future__ import annotations

import csv
import io

from bridge.domain.known_callers import BadNumber, KnownCaller, known_caller, number_key
from bridge.domain.labels import BadLabel
from bridge.roomsfile.problems import Problem

HEADER = ("number", "name", "place")


def read_directory_csv(text: str, filename: str) -> tuple[list[KnownCaller], list[Problem]]:
    known: list[KnownCaller] = []
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if line == 1 and tuple(c.lower() for c in cells[:3]) == HEADER[: len(cells[:3])]:
            continue
        if not 2 <= len(cells) <= 3:
            got = f"{len(cells)} field" + ("" if len(cells) == 1 else "s")
            problems.append(
                Problem(filename, line, "line", f"expected number,name,place; got {got}")
            )
            continue
        try:
            caller = known_caller(*cells)
        except BadNumber as exc:
            problems.append(Problem(filename, line, "number", str(exc)))
            continue
        except BadLabel as exc:
            problems.append(Problem(filename, line, "name", str(exc)))
            continue
        key = number_key(caller.number)
        if key in first:
            message = f"number {caller.number} is listed twice (first at line {first[key]})"
            problems.append(Problem(filename, line, "number", message))
            continue
        first[key] = line
        known.append(caller)
    return known, problems
