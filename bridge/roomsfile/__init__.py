"""The rooms file: the YAML in which admins declare rooms and moderators.

The file is read as YAML *nodes* rather than with ``yaml.safe_load`` so that every problem
names the line to fix. Each entry goes through a pydantic model (types, ranges, formats),
then come the checks across entries (unique names and PINs, moderators on known rooms).
All problems are collected and raised together, so the admin fixes the file in one go.

Messages quote the offending value (it is the admin's own file), except password hashes:
a plain password pasted there must never be echoed to a terminal or a log. Some things are
worth saying without refusing the file (a short PIN): those go to ``warnings`` when the
caller passes a list for them.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bridge.domain.rooms import ModeratorSpec, QueuePolicy, RoomsConfig, RoomSpec
from bridge.roomsfile.problems import Problem, RoomsFileError
from bridge.roomsfile.reader import Reader

__all__ = [
    "ModeratorSpec",
    "Problem",
    "QueuePolicy",
    "RoomSpec",
    "RoomsConfig",
    "RoomsFileError",
    "load_rooms_file",
    "parse_rooms_text",
]


def load_rooms_file(
    path: Path,
    warnings: list[Problem] | None = None,
    long_pins: str | None = None,
    languages: frozenset[str] | None = None,
) -> RoomsConfig:
    """``long_pins``: why PINs must have LONG_PIN_DIGITS digits here (a trunk or IPv6 is
    configured: ``bridge.asterisk.exposure``), or None. ``languages``: those whose Asterisk
    prompts are installed (``bridge.asterisk.sound_languages``): a room in another is a
    problem naming the Debian package to install; None leaves that unchecked."""
    filename = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise RoomsFileError(
            [Problem(filename, 0, "file", f"cannot read the file: {reason}")]
        ) from None
    try:
        text = raw.decode("utf-8-sig")  # tolerate the BOM some Windows editors add
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        raise RoomsFileError([Problem(filename, line, "file", message)]) from None
    return parse_rooms_text(text, filename, warnings, long_pins, languages)


def parse_rooms_text(
    text: str,
    filename: str,
    warnings: list[Problem] | None = None,
    long_pins: str | None = None,
    languages: frozenset[str] | None = None,
) -> RoomsConfig:
    problems: list[Problem] = []
    noted: list[Problem] = []
    config = None
    try:
        loader = yaml.SafeLoader(text)  # refuses control characters right away
        try:
            reader = Reader(loader, filename, problems, noted, long_pins, languages)
            config = reader.read(loader.get_single_node())
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        problems.append(_syntax_problem(exc, filename))
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"character {code:#06x} is not allowed in YAML (is this a text file?)"
        problems.append(Problem(filename, line, "file", message))
    except RecursionError:  # PyYAML's composer recurses once per nesting level
        problems.append(Problem(filename, 1, "file", "YAML nested too deeply"))
    if problems or config is None:
        raise RoomsFileError(sorted(problems, key=lambda p: p.line))
    if warnings is not None:
        warnings.extend(sorted(noted, key=lambda p: p.line))
    return config


def _syntax_problem(exc: yaml.MarkedYAMLError, filename: str) -> Problem:
    # Built from the parts, not str(exc): that quotes the source line, which may hold a secret.
    mark = exc.problem_mark or exc.context_mark
    message = f"invalid YAML: {exc.problem or exc.context or 'syntax error'}"
    if exc.context and exc.problem and exc.problem.startswith("but "):
        message = f"invalid YAML: {exc.context}, {exc.problem}"  # "expected X, but found Y"
    elif exc.context and exc.problem:
        where = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message += f" ({exc.context}{where})"
    if "'\\t'" in message:
        message += "; indent with spaces, not tabs"
    return Problem(filename, mark.line + 1 if mark else 1, "file", message)
