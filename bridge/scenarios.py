"""Practice scenario files: read and checked like the rooms file (each problem names its
line and field), turned into the domain's ``Scenario`` (``bridge.domain.practice``).

The scenarios shipped with io-bridge are in ``examples/scenarios/`` (inside the wheel,
``bridge/data-files/examples/scenarios/``); a practice can name one of them or give a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from bridge.domain.practice import Part, Press, Scenario

MAX_FILE_BYTES = 256 * 1024
_ROOT = Path(__file__).resolve().parent
SHIPPED_DIRS = (
    _ROOT / "data-files" / "examples" / "scenarios",
    _ROOT.parent / "examples" / "scenarios",
)
Number = float | int


class _Press(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    at: Number = Field(description="seconds from the start")
    keys: StrictStr


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: StrictStr
    callers: int
    talks: StrictBool = False
    on_join: StrictStr = ""
    presses: list[_Press] = []
    leaves_at: Number | None = None
    calls_back_after: Number | None = None


class _Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: StrictStr
    description: StrictStr = ""
    callers: int
    minutes: Number
    join_over: Number = 60
    parts: list[_Part] = []


@dataclass(frozen=True)
class ScenarioProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class BadScenario(ValueError):
    """A scenario file with problems, every one of them with its line."""

    def __init__(self, problems: list[ScenarioProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def read_scenario(text: str, file: str = "scenario") -> Scenario:
    """The scenario a file's text describes; ``BadScenario`` naming each problem's line."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise BadScenario([ScenarioProblem(file, 1, f"larger than {MAX_FILE_BYTES} bytes")])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadScenario([ScenarioProblem(file, line, f"not valid YAML: {what}")]) from None
    if not isinstance(data, dict) or root is None:
        raise BadScenario(
            [ScenarioProblem(file, 1, "expected a mapping: name, callers, minutes, parts")]
        )
    lines = _lines(root)
    try:
        shape = _Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = _path(error["loc"])
            what = "required" if error["type"] == "missing" else error["msg"].lower()
            if error["type"] == "extra_forbidden":
                what = "unknown key"
            problems.append(ScenarioProblem(file, _line_of(lines, path), f"{path}: {what}"))
        raise BadScenario(problems) from None
    scenario = _scenario(shape)
    problems = [ScenarioProblem(file, _line_of(lines, p.path), str(p)) for p in scenario.problems()]
    if problems:
        raise BadScenario(problems)
    return scenario


def read_scenario_file(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadScenario([ScenarioProblem(str(path), 1, f"cannot read it: {exc}")]) from None
    return read_scenario(text, str(path))


def shipped() -> dict[str, Path]:
    """The scenarios shipped with io-bridge, by name (the file's stem)."""
    for folder in SHIPPED_DIRS:
        if folder.is_dir():
            return {p.stem: p for p in sorted(folder.glob("*.yaml"))}
    return {}


def shipped_scenario(name: str) -> Scenario:
    """A scenario shipped with io-bridge, by name (never a path: the API names these)."""
    found = shipped().get(name)
    if found is None:
        names = ", ".join(shipped()) or "none"
        raise BadScenario([ScenarioProblem(name, 1, f"no scenario {name!r} (shipped: {names})")])
    return read_scenario_file(found)


def find_scenario(name_or_file: str) -> Scenario:
    """A shipped scenario by name, or a scenario file by its path."""
    found = shipped().get(name_or_file)
    if found is not None:
        return read_scenario_file(found)
    path = Path(name_or_file)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return read_scenario_file(path)
    names = ", ".join(shipped()) or "none"
    message = f"no scenario {name_or_file!r} (shipped: {names}; or give a file.yaml)"
    raise BadScenario([ScenarioProblem(name_or_file, 1, message)])


def _scenario(shape: _Scenario) -> Scenario:
    parts = tuple(
        Part(
            name=p.name,
            callers=p.callers,
            talks=p.talks,
            on_join=p.on_join,
            presses=tuple(Press(float(x.at), x.keys) for x in p.presses),
            leaves_at=None if p.leaves_at is None else float(p.leaves_at),
            calls_back_after=None if p.calls_back_after is None else float(p.calls_back_after),
        )
        for p in shape.parts
    )
    return Scenario(
        name=shape.name,
        description=shape.description,
        callers=shape.callers,
        minutes=float(shape.minutes),
        join_over=float(shape.join_over),
        parts=parts,
    )


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for item in loc:
        if isinstance(item, int):
            out += f"[{item}]"
        elif item in ("int", "float", "str", "bool"):
            continue  # pydantic names the union member it tried: not a place in the file
        else:
            out += f".{item}" if out else str(item)
    return out


def _lines(node: yaml.Node, path: str = "", found: dict[str, int] | None = None) -> dict[str, int]:
    """Every field's line, by its path ("parts[1].presses[0].at")."""
    found = {} if found is None else found
    found[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            where = f"{path}.{key.value}" if path else str(key.value)
            found[where] = key.start_mark.line + 1
            _lines(value, where, found)
            found[where] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for n, item in enumerate(node.value):
            _lines(item, f"{path}[{n}]", found)
    return found


def _line_of(lines: dict[str, int], path: str) -> int:
    """The line of ``path``, or of the nearest field around it that the file has."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return lines.get("", 1)
