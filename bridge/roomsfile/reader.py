"""Walking the rooms file's YAML nodes, so that every problem names its line; each entry
goes through its pydantic model (``entries``), then come the checks across entries."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bridge.domain.languages import missing_sounds
from bridge.domain.rooms import ALL_ROOMS, DEFAULT_MAX_PARTICIPANTS, RoomsConfig
from bridge.roomsfile.cues import EXPECTED as CUE_EXPECTED, CueEntry, cue_of, resolve, wav_problem
from bridge.roomsfile.entries import (
    EXPECTED,
    LONG_PIN_DIGITS,
    PIN_FIELDS,
    SECRET_FIELDS,
    SECRET_MESSAGE,
    ModeratorEntry,
    RoomEntry,
    WeakHash,
    announce_names_warning,
    grant_of_item,
    moderator_spec,
    quote,
    room_spec,
    short_pin_warning,
)
from bridge.roomsfile.grants import grant_of
from bridge.roomsfile.known_callers import DirectoryEntry, check_directory
from bridge.roomsfile.nodes import (
    INT_TAG,
    Entry,
    Fields,
    describe,
    did_you_mean,
    is_null,
    is_plain_non_text,
    key_name,
    line_of,
    unknown_key,
)
from bridge.roomsfile.problems import Problem
from bridge.roomsfile.schedule import listing_problems, schedule_of
from bridge.roomsfile.trunks import LONG_PINS_REASON, check_trunks, read_trunks, trunk_specs

# --- walking the document ------------------------------------------------------------------

_TOP_KEYS = ("rooms", "moderators", "cues", "trunks", "directory")


class _Unreadable:
    """Stands for a value PyYAML could not construct (already reported)."""


class _Shape:
    """Stands for a list or mapping where a plain value belongs; pydantic refuses it."""


_UNREADABLE = _Unreadable()


class Reader:
    def __init__(
        self,
        loader: yaml.SafeLoader,
        filename: str,
        problems: list[Problem],
        warnings: list[Problem] | None = None,
        long_pins: str | None = None,
        languages: frozenset[str] | None = None,
    ) -> None:
        self.loader = loader
        self.long_pins = long_pins  # why PINs need LONG_PIN_DIGITS here, if they do
        # The languages whose Asterisk prompts are installed; None: not checked here.
        self.languages = languages
        self.filename = filename
        self.problems = problems
        self.warnings = [] if warnings is None else warnings

    def add(self, line: int, field: str, message: str) -> None:
        problem = Problem(self.filename, line, field, message)
        if problem not in self.problems:  # a union's branches can report an item twice
            self.problems.append(problem)

    def warn(self, line: int, field: str, message: str) -> None:
        self.warnings.append(Problem(self.filename, line, field, message))

    def read(self, root: yaml.Node | None) -> RoomsConfig | None:
        if root is None or is_null(root):
            self.add(1, "file", "the file is empty; expected 'rooms:' with at least one room")
            return None
        if not isinstance(root, yaml.MappingNode):
            got = describe(root)
            self.add(line_of(root), "file", f"expected 'rooms:' and 'moderators:', got {got}")
            return None
        top = self.fields(root, "")
        for key, (key_node, _) in top.items():
            if key not in _TOP_KEYS:
                self.add(line_of(key_node), key, unknown_key(key, _TOP_KEYS))
        rooms = self.rooms(top.get("rooms"), line_of(root))
        moderators = self.entries(top.get("moderators"), "moderators", ModeratorEntry)
        cues = self.entries(top.get("cues"), "cues", CueEntry)
        trunks = read_trunks(self, top.get("trunks"))
        directory = self.entries(top.get("directory"), "directory", DirectoryEntry)
        if trunks and not self.long_pins:
            self.long_pins = LONG_PINS_REASON  # its callers share budgets per trunk
        self.check_rooms(rooms)
        check_trunks(
            self, trunks, [r.data["name"] for r in rooms if isinstance(r.data.get("name"), str)]
        )
        self.check_moderators(moderators, rooms)
        self.check_cues(cues)
        known = check_directory(self, directory)
        if self.problems:
            return None
        return RoomsConfig(
            rooms=tuple(room_spec(e.parsed) for e in rooms if isinstance(e.parsed, RoomEntry)),
            moderators=tuple(
                moderator_spec(e.parsed) for e in moderators if isinstance(e.parsed, ModeratorEntry)
            ),
            cues=tuple(
                cue_of(e.parsed, self.filename) for e in cues if isinstance(e.parsed, CueEntry)
            ),
            trunks=trunk_specs(trunks, self.filename),
            directory=known,
            title_recordings=tuple(
                (e.parsed.name, str(resolve(e.parsed.title_recording, self.filename)))
                for e in rooms
                if isinstance(e.parsed, RoomEntry) and e.parsed.title_recording is not None
            ),
        )

    def fields(self, node: yaml.MappingNode, path: str) -> Fields:
        """The mapping's keys, refusing duplicates (PyYAML would silently keep the last)."""
        found: Fields = {}
        for key_node, value_node in node.value:
            key = key_name(key_node)
            if key is None:
                got = describe(key_node)
                self.add(line_of(key_node), path or "file", f"keys must be plain names, got {got}")
                continue
            where = f"{path}.{key}" if path else key
            if key == "<<":
                self.add(line_of(key_node), where, "YAML merge keys are not supported here")
            elif key in found:
                first = line_of(found[key][0])
                self.add(
                    line_of(key_node), where, f"duplicate key {quote(key)} (first at line {first})"
                )
            else:
                found[key] = (key_node, value_node)
        return found

    def rooms(self, entry: tuple[yaml.Node, yaml.Node] | None, root_line: int) -> list[Entry]:
        if entry is None:
            self.add(root_line, "rooms", "required key 'rooms' is missing")
            return []
        node = entry[1]
        if is_null(node) or (isinstance(node, yaml.SequenceNode) and not node.value):
            self.add(line_of(entry[0]), "rooms", "no rooms listed; add at least one")
            return []
        return self.entries(entry, "rooms", RoomEntry)

    def entries(
        self, entry: tuple[yaml.Node, yaml.Node] | None, key: str, model: type[BaseModel]
    ) -> list[Entry]:
        if entry is None:
            return []
        key_node, node = entry
        if is_null(node):
            return []  # "moderators:" with every entry commented out
        if not isinstance(node, yaml.SequenceNode):
            message = f"must be a list, each entry starting with '- ', got {describe(node)}"
            self.add(line_of(key_node), key, message)
            return []
        found = [self.entry(item, f"{key}[{i}]", model) for i, item in enumerate(node.value)]
        return [e for e in found if e is not None]

    def entry(self, node: yaml.Node, path: str, model: type[BaseModel]) -> Entry | None:
        if not isinstance(node, yaml.MappingNode):
            self.add(line_of(node), path, f"must be a mapping of settings, got {describe(node)}")
            return None
        fields = self.fields(node, path)
        # Unknown keys go in as None: pydantic reports them, their values are never read.
        data = {
            key: self.value(value_node, f"{path}.{key}") if key in model.model_fields else None
            for key, (_, value_node) in fields.items()
        }
        if model is RoomEntry:
            for key in PIN_FIELDS:
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
        return Entry(path, fields, data, good, parsed)

    def value(self, node: yaml.Node, where: str) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, where)
        if isinstance(node, yaml.MappingNode) and where.endswith(".schedule"):
            found = schedule_of(
                node,
                lambda line, message: self.add(line, where, message),
                self.loader.construct_object,
            )
            return _UNREADABLE if found is None else found
        if isinstance(node, yaml.SequenceNode):  # only one level: lists of room names
            return [self.item(item, where) for item in node.value]
        return _Shape()

    def item(self, node: yaml.Node, where: str) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, where)
        if isinstance(node, yaml.MappingNode) and where.endswith(".rooms"):
            # A moderator's {room, role}: its own problems, on their own lines.
            found = grant_of(node, lambda line, message: self.add(line, where, message))
            return _UNREADABLE if found is None else found
        return _Shape()

    def scalar(self, node: yaml.ScalarNode, where: str) -> Any:
        # Explicit tags (!!int abc, !!timestamp x, !custom) fail in assorted ways: ConstructorError,
        # ValueError, KeyError... Whatever it is, it is a problem in this value, not a crash.
        try:
            return self.loader.construct_object(node)
        except Exception:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.add(line_of(node), where, f"cannot read this value as YAML tag {tag!r}")
            return _UNREADABLE

    def unquoted_pin(self, field: tuple[yaml.Node, yaml.Node], where: str) -> bool:
        """An unquoted 0123 is the number 83 to YAML: PINs must be quoted, always."""
        key_node, node = field
        if not (isinstance(node, yaml.ScalarNode) and node.tag == INT_TAG):
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
        self.add(line_of(key_node), where, message)
        return True

    def report(
        self,
        error: ErrorDetails,
        path: str,
        node: yaml.MappingNode,
        fields: Fields,
        model: type[BaseModel],
    ) -> None:
        """Turn a pydantic error into a message that names the value and its line."""
        if error["input"] is _UNREADABLE or not error["loc"]:
            return
        loc = error["loc"]
        key = str(loc[0])
        where = f"{path}.{key}"
        if error["type"] == "missing":
            self.add(line_of(node), where, f"required key {quote(key)} is missing")
            return
        key_node, value_node = fields[key]
        line = line_of(key_node)
        if error["type"] == "extra_forbidden":
            self.add(line, where, unknown_key(key, tuple(model.model_fields)))
        elif key in SECRET_FIELDS:
            cause = error.get("ctx", {}).get("error")
            # A weak hash's message names its parameters only; anything else could be a
            # password pasted there, and is never echoed.
            self.add(line, where, str(cause) if isinstance(cause, WeakHash) else SECRET_MESSAGE)
        elif len(loc) > 1 and isinstance(loc[1], int) and isinstance(value_node, yaml.SequenceNode):
            item = value_node.value[loc[1]]
            what = getattr(model, "ITEM_EXPECTED", "a room name")
            self.add(line_of(item), where, f"each entry must be {what}, got {describe(item)}")
        elif error["type"] == "value_error":
            self.add(line, where, str(error.get("ctx", {}).get("error", error["msg"])))
        else:
            expected = {**EXPECTED, **CUE_EXPECTED} if model is CueEntry else EXPECTED
            expected = {**expected, **getattr(model, "EXPECTED_HERE", {})}
            message = f"must be {expected.get(key, 'something else')}, got {describe(value_node)}"
            if error["type"] == "string_type" and is_plain_non_text(value_node):
                message += " (put it in quotes)"
            self.add(line, where, message)

    # --- checks across entries -------------------------------------------------------------

    def check_rooms(self, rooms: list[Entry]) -> None:
        names: dict[str, int] = {}
        # Callers reach a room by PIN alone (one shared number), so every PIN, participant
        # or moderator, must open exactly one door.
        pins: dict[str, tuple[Entry, str]] = {}
        for room in rooms:
            name = room.good.get("name")
            if isinstance(name, str):
                if name in names:
                    message = f"duplicate room name {quote(name)} (first at line {names[name]})"
                    self.add(room.line("name"), f"{room.path}.name", message)
                else:
                    names[name] = room.line("name")
            for key, message in listing_problems(room.good, "schedule" in room.fields):
                self.add(room.line(key), f"{room.path}.{key}", message)
            language = room.good.get("language")
            installed = self.languages
            if isinstance(language, str) and installed is not None and language not in installed:
                where = f"{room.path}.language"
                self.add(room.line("language"), where, missing_sounds(language))
            recording = room.good.get("title_recording")
            if isinstance(recording, str) and (
                bad := wav_problem(resolve(recording, self.filename))
            ):
                self.add(room.line("title_recording"), f"{room.path}.title_recording", bad)
            size = room.good.get("max_participants", DEFAULT_MAX_PARTICIPANTS)
            announces = room.good.get("announce_names") is True and isinstance(size, int)
            if announces and (costly := announce_names_warning(size)) is not None:
                self.warn(room.line("announce_names"), f"{room.path}.announce_names", costly)
            for key in PIN_FIELDS:
                pin = room.good.get(key)
                if not isinstance(pin, str):
                    continue
                if self.long_pins and len(pin) < LONG_PIN_DIGITS:
                    message = (
                        f"must be at least {LONG_PIN_DIGITS} digits, got {len(pin)}: "
                        f"{self.long_pins}, so guessing is faster (docs/admin.md, "
                        '"Guessing a PIN")'
                    )
                    self.add(room.line(key), f"{room.path}.{key}", message)
                elif (short := short_pin_warning(pin)) is not None:
                    self.warn(room.line(key), f"{room.path}.{key}", short)
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

    def check_moderators(self, moderators: list[Entry], rooms: list[Entry]) -> None:
        # Any name written for a room counts, even an invalid one: its own problem is enough.
        known = [r.data["name"] for r in rooms if isinstance(r.data.get("name"), str)]
        usernames: dict[str, int] = {}
        for moderator in moderators:
            username = moderator.good.get("username")
            if isinstance(username, str):
                if username in usernames:
                    first = usernames[username]
                    message = f"duplicate username {quote(username)} (first at line {first})"
                    self.add(moderator.line("username"), f"{moderator.path}.username", message)
                else:
                    usernames[username] = moderator.line("username")
            names = moderator.good.get("rooms")
            if not isinstance(names, list):
                continue
            items = moderator.fields["rooms"][1].value
            for item, granted in zip(items, names, strict=True):
                name = grant_of_item(granted).room
                if name != ALL_ROOMS and name not in known:
                    message = f"unknown room {quote(name)}" + did_you_mean(name, known)
                    self.add(line_of(item), f"{moderator.path}.rooms", message)

    def check_cues(self, cues: list[Entry]) -> None:
        names: dict[str, int] = {}
        for cue in cues:
            name = cue.good.get("name")
            if isinstance(name, str):
                if name in names:
                    message = f"duplicate cue name {quote(name)} (first at line {names[name]})"
                    self.add(cue.line("name"), f"{cue.path}.name", message)
                else:
                    names[name] = cue.line("name")
            file = cue.good.get("file")
            if isinstance(file, str):
                problem = wav_problem(resolve(file, self.filename))
                if problem is not None:
                    self.add(cue.line("file"), f"{cue.path}.file", problem)


def _label(entry: Entry) -> str:
    name = entry.good.get("name")
    return f"room {quote(name)}" if isinstance(name, str) else entry.path
