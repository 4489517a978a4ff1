"""The rooms file: the YAML in which admins declare rooms and moderators.

The file is read as YAML *nodes* rather than with ``yaml.safe_load`` so that every problem
names the line to fix. Each entry goes through a pydantic model (types, ranges, formats),
then come the checks across entries (unique names and PINs, moderators on known rooms).
All problems are collected and raised together, so the admin fixes the file in one go.

Messages quote the offending value (it is the admin's own file), except password hashes:
a plain password pasted there must never be echoed to a terminal or a log.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import argon2
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails

from bridge.domain.rooms import (
    ALL_ROOMS,
    DEFAULT_MAX_PARTICIPANTS,
    MAX_PARTICIPANTS,
    MIN_PARTICIPANTS,
    ROOM_NAME,
    ModeratorSpec,
    QueuePolicy,
    RoomsConfig,
    RoomSpec,
)

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


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1-based; 0 when the file could not be read at all
    field: str  # where in the document, e.g. "rooms[1].pin"
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class RoomsFileError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def load_rooms_file(path: Path) -> RoomsConfig:
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
    return parse_rooms_text(text, filename)


def parse_rooms_text(text: str, filename: str) -> RoomsConfig:
    problems: list[Problem] = []
    config = None
    try:
        loader = yaml.SafeLoader(text)  # refuses control characters right away
        try:
            config = _Reader(loader, filename, problems).read(loader.get_single_node())
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


# --- one entry at a time: pydantic models --------------------------------------------------

_SLUG = ROOM_NAME
_PIN = re.compile(r"[0-9]{4,12}")
_USERNAME = re.compile(r"[a-z0-9._-]{1,64}")
_PIN_FIELDS = ("pin", "moderator_pin")
_SECRET_FIELDS = frozenset({"password_hash"})


class _RoomEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr
    title: StrictStr | None = None
    pin: StrictStr
    moderator_pin: StrictStr | None = None
    max_participants: Annotated[StrictInt, Field(ge=MIN_PARTICIPANTS, le=MAX_PARTICIPANTS)] = (
        DEFAULT_MAX_PARTICIPANTS
    )
    muted_on_entry: StrictBool = False
    queue: QueuePolicy = QueuePolicy.FIFO
    speaking_time_limit: Annotated[StrictInt, Field(ge=0)] = 0
    record: StrictBool = False
    announce_names: StrictBool = False

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.fullmatch(value):
            raise ValueError(
                "must be 1-40 characters of a-z, 0-9 and '-', starting with a letter or digit,"
                f" got {_quote(value)}"
            )
        return value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank (leave it out to use the room name)")
        return value

    @field_validator(*_PIN_FIELDS)
    @classmethod
    def _pin(cls, value: str | None) -> str | None:
        if value is not None and not _PIN.fullmatch(value):
            raise ValueError(f"must be 4-12 digits, got {_quote(value)}")
        return value


class _ModeratorEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: StrictStr
    password_hash: StrictStr
    rooms: list[StrictStr]

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not _USERNAME.fullmatch(value):
            raise ValueError(
                f"must be 1-64 characters of a-z, 0-9, '.', '_' and '-', got {_quote(value)}"
            )
        return value

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str) -> str:
        # The message is replaced by _SECRET_MESSAGE anyway; never put the value in it.
        if not value.startswith("$argon2") or any(c.isspace() for c in value):
            raise ValueError("not an argon2 hash")
        try:
            argon2.extract_parameters(value)
        except ValueError:  # InvalidHashError, or numbers that do not parse
            raise ValueError("not an argon2 hash") from None
        return value

    @field_validator("rooms")
    @classmethod
    def _rooms(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError('must list at least one room, or ["*"] for every room')
        if ALL_ROOMS in value and len(set(value)) > 1:
            raise ValueError('"*" already means every room: list it alone')
        return value


# What a field should look like, for type and range errors ("must be X, got Y").
_EXPECTED = {
    "name": "a room name like 'ga-national'",
    "title": "text",
    "pin": 'a PIN of 4-12 digits in quotes, like "424242"',
    "moderator_pin": 'a PIN of 4-12 digits in quotes, like "919191"',
    "max_participants": f"a whole number from {MIN_PARTICIPANTS} to {MAX_PARTICIPANTS}",
    "muted_on_entry": "true or false",
    "queue": "fifo or progressive",
    "speaking_time_limit": "a whole number of seconds, 0 for no limit",
    "record": "true or false",
    "announce_names": "true or false",
    "username": "a user name like 'stackkeeper'",
    "rooms": 'a list of room names, or ["*"] for every room',
}
_SECRET_MESSAGE = (
    "must be an argon2 hash like '$argon2id$v=19$m=65536,t=3,p=4$...', not a password"
    " (the value is not shown here; make one with: iobridge moderators hash-password)"
)


# --- walking the document ------------------------------------------------------------------

_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
_INT_TAG = "tag:yaml.org,2002:int"
_TOP_KEYS = ("rooms", "moderators")
_Fields = dict[str, tuple[yaml.Node, yaml.Node]]  # key -> (key node, value node)


class _Unreadable:
    """Stands for a value PyYAML could not construct (already reported)."""


class _Shape:
    """Stands for a list or mapping where a plain value belongs; pydantic refuses it."""


_UNREADABLE = _Unreadable()


@dataclass
class _Entry:
    path: str  # "rooms[2]"
    fields: _Fields
    data: dict[str, Any]  # what pydantic was given
    good: dict[str, Any]  # the fields that passed, for the checks across entries
    parsed: BaseModel | None

    def line(self, key: str) -> int:
        return _line(self.fields[key][0])


class _Reader:
    def __init__(self, loader: yaml.SafeLoader, filename: str, problems: list[Problem]) -> None:
        self.loader = loader
        self.filename = filename
        self.problems = problems

    def add(self, line: int, field: str, message: str) -> None:
        self.problems.append(Problem(self.filename, line, field, message))

    def read(self, root: yaml.Node | None) -> RoomsConfig | None:
        if root is None or _is_null(root):
            self.add(1, "file", "the file is empty; expected 'rooms:' with at least one room")
            return None
        if not isinstance(root, yaml.MappingNode):
            got = _describe(root)
            self.add(_line(root), "file", f"expected 'rooms:' and 'moderators:', got {got}")
            return None
        top = self.fields(root, "")
        for key, (key_node, _) in top.items():
            if key not in _TOP_KEYS:
                self.add(_line(key_node), key, _unknown_key(key, _TOP_KEYS))
        rooms = self.rooms(top.get("rooms"), _line(root))
        moderators = self.entries(top.get("moderators"), "moderators", _ModeratorEntry)
        self.check_rooms(rooms)
        self.check_moderators(moderators, rooms)
        if self.problems:
            return None
        return RoomsConfig(
            rooms=tuple(_room_spec(e.parsed) for e in rooms if isinstance(e.parsed, _RoomEntry)),
            moderators=tuple(
                _moderator_spec(e.parsed)
                for e in moderators
                if isinstance(e.parsed, _ModeratorEntry)
            ),
        )

    def fields(self, node: yaml.MappingNode, path: str) -> _Fields:
        """The mapping's keys, refusing duplicates (PyYAML would silently keep the last)."""
        found: _Fields = {}
        for key_node, value_node in node.value:
            key = _key_name(key_node)
            if key is None:
                got = _describe(key_node)
                self.add(_line(key_node), path or "file", f"keys must be plain names, got {got}")
                continue
            where = f"{path}.{key}" if path else key
            if key == "<<":
                self.add(_line(key_node), where, "YAML merge keys are not supported here")
            elif key in found:
                first = _line(found[key][0])
                self.add(
                    _line(key_node), where, f"duplicate key {_quote(key)} (first at line {first})"
                )
            else:
                found[key] = (key_node, value_node)
        return found

    def rooms(self, entry: tuple[yaml.Node, yaml.Node] | None, root_line: int) -> list[_Entry]:
        if entry is None:
            self.add(root_line, "rooms", "required key 'rooms' is missing")
            return []
        node = entry[1]
        if _is_null(node) or (isinstance(node, yaml.SequenceNode) and not node.value):
            self.add(_line(entry[0]), "rooms", "no rooms listed; add at least one")
            return []
        return self.entries(entry, "rooms", _RoomEntry)

    def entries(
        self, entry: tuple[yaml.Node, yaml.Node] | None, key: str, model: type[BaseModel]
    ) -> list[_Entry]:
        if entry is None:
            return []
        key_node, node = entry
        if _is_null(node):
            return []  # "moderators:" with every entry commented out
        if not isinstance(node, yaml.SequenceNode):
            message = f"must be a list, each entry starting with '- ', got {_describe(node)}"
            self.add(_line(key_node), key, message)
            return []
        found = [self.entry(item, f"{key}[{i}]", model) for i, item in enumerate(node.value)]
        return [e for e in found if e is not None]

    def entry(self, node: yaml.Node, path: str, model: type[BaseModel]) -> _Entry | None:
        if not isinstance(node, yaml.MappingNode):
            self.add(_line(node), path, f"must be a mapping of settings, got {_describe(node)}")
            return None
        fields = self.fields(node, path)
        # Unknown keys go in as None: pydantic reports them, their values are never read.
        data = {
            key: self.value(value_node, f"{path}.{key}") if key in model.model_fields else None
            for key, (_, value_node) in fields.items()
        }
        if model is _RoomEntry:
            for key in _PIN_FIELDS:
                if key in fields and self.unquoted_pin(fields[key], f"{path}.{key}"):
                    data[key] = fields[key][1].value  # the digits as written, for later checks
        try:
            parsed: BaseModel | None = model.model_validate(data)
            errors: list[ErrorDetails] = []
        except ValidationError as exc:
            parsed, errors = None, exc.errors()
        for error in errors:
            self.report(error, path, node, fields, model)
        failed = {str(error["loc"][0]) for error in errors if error["loc"]}
        good = {k: v for k, v in data.items() if k in model.model_fields and k not in failed}
        return _Entry(path, fields, data, good, parsed)

    def value(self, node: yaml.Node, where: str) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, where)
        if isinstance(node, yaml.SequenceNode):  # only one level: lists of room names
            return [
                self.scalar(item, where) if isinstance(item, yaml.ScalarNode) else _Shape()
                for item in node.value
            ]
        return _Shape()

    def scalar(self, node: yaml.ScalarNode, where: str) -> Any:
        # Explicit tags (!!int abc, !!timestamp x, !custom) fail in assorted ways: ConstructorError,
        # ValueError, KeyError... Whatever it is, it is a problem in this value, not a crash.
        try:
            return self.loader.construct_object(node)
        except Exception:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.add(_line(node), where, f"cannot read this value as YAML tag {tag!r}")
            return _UNREADABLE

    def unquoted_pin(self, field: tuple[yaml.Node, yaml.Node], where: str) -> bool:
        """An unquoted 0123 is the number 83 to YAML: PINs must be quoted, always."""
        key_node, node = field
        if not (isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG):
            return False
        raw = str(node.value)
        if not (raw.isascii() and raw.isdigit()):
            return False  # 0x1F, 1_000: not digits anyway, the type check explains
        read = self.scalar(node, where)
        message = f'write the PIN in quotes: {key_node.value}: "{raw}"'
        if str(read) != raw:
            message += f" (unquoted, YAML reads {raw} as the number {read})"
        else:
            message += " (unquoted, YAML reads it as a number, and numbers lose leading zeros)"
        self.add(_line(key_node), where, message)
        return True

    def report(
        self,
        error: ErrorDetails,
        path: str,
        node: yaml.MappingNode,
        fields: _Fields,
        model: type[BaseModel],
    ) -> None:
        """Turn a pydantic error into a message that names the value and its line."""
        if error["input"] is _UNREADABLE or not error["loc"]:
            return
        loc = error["loc"]
        key = str(loc[0])
        where = f"{path}.{key}"
        if error["type"] == "missing":
            self.add(_line(node), where, f"required key {_quote(key)} is missing")
            return
        key_node, value_node = fields[key]
        line = _line(key_node)
        if error["type"] == "extra_forbidden":
            self.add(line, where, _unknown_key(key, tuple(model.model_fields)))
        elif key in _SECRET_FIELDS:
            self.add(line, where, _SECRET_MESSAGE)
        elif len(loc) > 1 and isinstance(loc[1], int) and isinstance(value_node, yaml.SequenceNode):
            item = value_node.value[loc[1]]
            self.add(_line(item), where, f"each entry must be a room name, got {_describe(item)}")
        elif error["type"] == "value_error":
            self.add(line, where, str(error.get("ctx", {}).get("error", error["msg"])))
        else:
            message = f"must be {_EXPECTED.get(key, 'something else')}, got {_describe(value_node)}"
            if error["type"] == "string_type" and _is_plain_non_text(value_node):
                message += " (put it in quotes)"
            self.add(line, where, message)

    # --- checks across entries -------------------------------------------------------------

    def check_rooms(self, rooms: list[_Entry]) -> None:
        names: dict[str, int] = {}
        # Callers reach a room by PIN alone (one shared number), so every PIN, participant
        # or moderator, must open exactly one door.
        pins: dict[str, tuple[_Entry, str]] = {}
        for room in rooms:
            name = room.good.get("name")
            if isinstance(name, str):
                if name in names:
                    message = f"duplicate room name {_quote(name)} (first at line {names[name]})"
                    self.add(room.line("name"), f"{room.path}.name", message)
                else:
                    names[name] = room.line("name")
            for key in _PIN_FIELDS:
                pin = room.good.get(key)
                if not isinstance(pin, str):
                    continue
                if pin not in pins:
                    pins[pin] = (room, key)
                    continue
                owner, owner_key = pins[pin]
                where = f"line {owner.line(owner_key)}"
                if owner is room:
                    message = f"same as this room's pin ({where}); moderators need their own PIN"
                else:
                    role = " as its moderator_pin" if owner_key == "moderator_pin" else ""
                    message = f"duplicate PIN (already used by {_label(owner)}{role} at {where})"
                self.add(room.line(key), f"{room.path}.{key}", message)

    def check_moderators(self, moderators: list[_Entry], rooms: list[_Entry]) -> None:
        # Any name written for a room counts, even an invalid one: its own problem is enough.
        known = [r.data["name"] for r in rooms if isinstance(r.data.get("name"), str)]
        usernames: dict[str, int] = {}
        for moderator in moderators:
            username = moderator.good.get("username")
            if isinstance(username, str):
                if username in usernames:
                    first = usernames[username]
                    message = f"duplicate username {_quote(username)} (first at line {first})"
                    self.add(moderator.line("username"), f"{moderator.path}.username", message)
                else:
                    usernames[username] = moderator.line("username")
            names = moderator.good.get("rooms")
            if not isinstance(names, list):
                continue
            items = moderator.fields["rooms"][1].value
            for item, name in zip(items, names, strict=True):
                if name != ALL_ROOMS and name not in known:
                    message = f"unknown room {_quote(name)}" + _did_you_mean(name, known)
                    self.add(_line(item), f"{moderator.path}.rooms", message)


# --- small helpers -------------------------------------------------------------------------


def _room_spec(entry: _RoomEntry) -> RoomSpec:
    return RoomSpec(
        name=entry.name,
        title=entry.title if entry.title is not None else entry.name,
        pin=entry.pin,
        moderator_pin=entry.moderator_pin,
        max_participants=entry.max_participants,
        muted_on_entry=entry.muted_on_entry,
        queue=entry.queue,
        speaking_time_limit=entry.speaking_time_limit,
        record=entry.record,
        announce_names=entry.announce_names,
    )


def _moderator_spec(entry: _ModeratorEntry) -> ModeratorSpec:
    rooms = tuple(dict.fromkeys(entry.rooms))  # a room listed twice is harmless: keep one
    return ModeratorSpec(username=entry.username, password_hash=entry.password_hash, rooms=rooms)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1 if node.start_mark else 1


def _label(entry: _Entry) -> str:
    name = entry.good.get("name")
    return f"room {_quote(name)}" if isinstance(name, str) else entry.path


def _quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _describe(node: yaml.Node) -> str:
    """The value as the admin wrote it, for "got ..." in messages."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    raw = str(node.value)
    if node.tag == _NULL_TAG:
        return raw or "nothing"
    if node.tag == _STR_TAG:
        return _quote(raw)
    return raw if len(raw) <= 40 else raw[:37] + "..."


def _key_name(node: yaml.Node) -> str | None:
    """A key's text; None for keys no setting could have (lists, mappings, nothing)."""
    if isinstance(node, yaml.ScalarNode) and not _is_null(node) and node.value:
        return str(node.value)
    return None


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def _is_plain_non_text(node: yaml.Node) -> bool:
    """A bare number, date or yes/no where text was expected: quoting it would help."""
    plain = isinstance(node, yaml.ScalarNode) and node.style is None
    return plain and node.tag not in (_STR_TAG, _NULL_TAG)


def _unknown_key(key: str, expected: tuple[str, ...]) -> str:
    message = f"unknown key {_quote(key)} (expected one of: {', '.join(expected)})"
    return message + _did_you_mean(key, expected)


def _did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {_quote(close[0])}?" if close else ""
