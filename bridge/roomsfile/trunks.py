"""The rooms file's ``trunks:``: a carrier's SIP connection, the numbers (DIDs) it delivers,
and what dial-out through it may do (docs/admin.md, "A real phone number").

Each trunk, its ``numbers:`` and its ``outbound:`` go through their pydantic models like a
room does (the reader's messages: ``FILE:LINE: field: message``); then come the checks across
entries: unique names and numbers, known rooms, and the secret: never written in the file
(``secret:`` or ``password:`` is refused without echoing it), read from ``secret_file`` (which
must exist, and should be readable by its owner alone) or ``secret_env``.

Everything here ends up in Asterisk's pjsip configuration, so every text is held to the
characters such a value can have: none can close a section or start a comment.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from pathlib import Path
from typing import Annotated, Any, ClassVar, Protocol

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)

from bridge.domain.trunks import (
    CODECS,
    DEFAULT_CODECS,
    TRUNK_NAME,
    DtmfMode,
    NotANumber,
    Outbound,
    Transport,
    TrunkKind,
    TrunkNumber,
    TrunkSpec,
    e164,
)
from bridge.roomsfile.cues import resolve
from bridge.roomsfile.nodes import Entry, did_you_mean, line_of


class Reader(Protocol):
    """What reading trunks asks of the rooms file's reader (``bridge.roomsfile.reader``)."""

    filename: str

    def add(self, line: int, field: str, message: str) -> None: ...

    def warn(self, line: int, field: str, message: str) -> None: ...

    def entry(self, node: yaml.Node, path: str, model: type[BaseModel]) -> Entry | None: ...

    def entries(
        self, entry: tuple[yaml.Node, yaml.Node] | None, key: str, model: type[BaseModel]
    ) -> list[Entry]: ...


_HOST = re.compile(r"[A-Za-z0-9.:-]{1,253}")
_USER = re.compile(r"[A-Za-z0-9._+-]{1,64}")
_ENV = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
_PREFIX = re.compile(r"\+[0-9]{1,15}")
INLINE_SECRETS = ("secret", "password")
INLINE_MESSAGE = (
    "secrets are never written in the rooms file (the value is not shown here): put it in a "
    "file and name it with secret_file, or name an environment variable with secret_env"
)
LONG_PINS_REASON = "the rooms file declares trunks"
MAX_CALLS_PER_SECOND = 50
MAX_CONCURRENT = 1000


def _checked(pattern: re.Pattern[str], what: str, value: str | None) -> str | None:
    if value is not None and not pattern.fullmatch(value):
        raise ValueError(f"must be {what}, got {value[:40]!r}")
    return value


def _number(value: str) -> str:
    try:
        return e164(value)
    except NotANumber as exc:
        raise ValueError(str(exc)) from None


class NumberEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    EXPECTED_HERE: ClassVar[dict[str, str]] = {
        "number": 'a phone number in quotes, like "+15557770000"',
        "room": "a room name like 'assembly'",
        "pin_required": "true or false",
    }

    number: StrictStr
    room: StrictStr | None = None
    pin_required: StrictBool = True

    _e164 = field_validator("number")(_number)


class OutboundEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    EXPECTED_HERE: ClassVar[dict[str, str]] = {
        "allowed_prefixes": 'a list of number prefixes in quotes, like ["+1555"]',
        "max_concurrent": f"a whole number from 1 to {MAX_CONCURRENT}",
        "calls_per_second": f"a number of calls per second above 0, at most {MAX_CALLS_PER_SECOND}",
        "caller_id": 'a phone number in quotes, like "+15557770000"',
    }
    ITEM_EXPECTED: ClassVar[str] = 'a prefix in quotes, like "+1555"'

    allowed_prefixes: list[StrictStr] = []
    max_concurrent: Annotated[StrictInt, Field(ge=1, le=MAX_CONCURRENT)] = 10
    calls_per_second: Annotated[StrictInt | StrictFloat, Field(gt=0, le=MAX_CALLS_PER_SECOND)] = 1
    caller_id: StrictStr | None = None

    @field_validator("allowed_prefixes")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            _checked(_PREFIX, "'+' and the digits numbers start with, like '+1555'", prefix)
        return value

    @field_validator("caller_id")
    @classmethod
    def _caller_id(cls, value: str | None) -> str | None:
        return None if value is None else _number(value)


class TrunkEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    EXPECTED_HERE: ClassVar[dict[str, str]] = {
        "name": "a trunk name like 'carrier' (a-z, 0-9, '-')",
        "kind": "ip or register",
        "host": "the carrier's host name or address",
        "port": "a port number from 1 to 65535",
        "transport": "udp, tcp or tls",
        "match": 'a list of the carrier\'s networks in quotes, like ["203.0.113.0/28"]',
        "username": "the user name the carrier gave you",
        "secret_file": "the path of a file holding the secret",
        "secret_env": "the name of an environment variable holding the secret",
        "numbers": "a list of numbers, each starting with '- number:'",
        "outbound": "a mapping of dial-out settings (allowed_prefixes, max_concurrent, ...)",
        "codecs": 'a list of codecs, like ["ulaw", "alaw", "g722"]',
        "dtmf_mode": "auto (RFC 4733, else inband), rfc4733, inband or info",
        "external_media_address": "the public address for media, like 198.51.100.7",
        "external_signaling_address": "the public address for SIP, like 198.51.100.7",
    }
    ITEM_EXPECTED: ClassVar[str] = "a network or codec name in quotes"

    name: StrictStr
    kind: TrunkKind
    host: StrictStr
    port: Annotated[StrictInt, Field(ge=1, le=65535)] = 5060
    transport: Annotated[StrictStr, Field(pattern="^(udp|tcp|tls)$")] = "udp"
    match: list[StrictStr] = []
    username: StrictStr | None = None
    secret_file: StrictStr | None = None
    secret_env: StrictStr | None = None
    numbers: Any = None  # walked apart: a list of mappings (NumberEntry)
    outbound: Any = None  # walked apart: a mapping (OutboundEntry)
    codecs: list[StrictStr] = list(DEFAULT_CODECS)
    dtmf_mode: DtmfMode = DtmfMode.AUTO
    external_media_address: StrictStr | None = None
    external_signaling_address: StrictStr | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _checked(TRUNK_NAME, "1-40 characters of a-z, 0-9 and '-'", value) or value

    @field_validator("host", "external_media_address", "external_signaling_address")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return _checked(_HOST, "a host name or an address", value)

    @field_validator("username")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        return _checked(_USER, "letters, digits and . _ + -", value)

    @field_validator("secret_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        return _checked(_ENV, "an environment variable's name like CARRIER_SECRET", value)

    @field_validator("match")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        networks = []
        for text in value:
            try:
                networks.append(str(ipaddress.ip_network(text, strict=False)))
            except ValueError:
                raise ValueError(
                    f"not a network: {text[:40]!r} (expected e.g. 203.0.113.0/28)"
                ) from None
        return networks

    @field_validator("codecs")
    @classmethod
    def _codecs(cls, value: list[str]) -> list[str]:
        unknown = [codec for codec in value if codec not in CODECS]
        if unknown:
            raise ValueError(
                f"unknown codec {unknown[0][:20]!r} (expected some of: {', '.join(sorted(CODECS))})"
            )
        if not value:
            raise ValueError("must list at least one codec")
        return value


# --- reading -------------------------------------------------------------------------------


class TrunkRead:
    """One trunk as read: its entry, its numbers' entries, its outbound entry."""

    def __init__(self, entry: Entry, numbers: list[Entry], outbound: Entry | None) -> None:
        self.entry, self.numbers, self.outbound = entry, numbers, outbound


def read_trunks(reader: Reader, field: tuple[yaml.Node, yaml.Node] | None) -> list[TrunkRead]:
    if field is None:
        return []
    key_node, node = field
    if not isinstance(node, yaml.SequenceNode):
        if not (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            reader.add(line_of(key_node), "trunks", "must be a list, each entry starting with '- '")
        return []
    found = []
    for i, item in enumerate(node.value):
        path = f"trunks[{i}]"
        if isinstance(item, yaml.MappingNode):
            item = _without_inline_secrets(reader, item, path)
        entry = reader.entry(item, path, TrunkEntry)
        if entry is None:
            continue
        numbers = []
        if "numbers" in entry.fields:
            numbers = reader.entries(entry.fields["numbers"], f"{path}.numbers", NumberEntry)
        outbound = None
        if "outbound" in entry.fields:
            outbound_node = entry.fields["outbound"][1]
            outbound = reader.entry(outbound_node, f"{path}.outbound", OutboundEntry)
        found.append(TrunkRead(entry, numbers, outbound))
    return found


def _without_inline_secrets(reader: Reader, node: yaml.MappingNode, path: str) -> yaml.MappingNode:
    kept = []
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value in INLINE_SECRETS:
            reader.add(line_of(key_node), f"{path}.{key_node.value}", INLINE_MESSAGE)
        else:
            kept.append((key_node, value_node))
    return yaml.MappingNode(node.tag, kept, node.start_mark, node.end_mark, node.flow_style)


def check_trunks(reader: Reader, trunks: list[TrunkRead], room_names: list[str]) -> None:
    """The checks across trunks: unique names and numbers, known rooms, secrets."""
    names: dict[str, int] = {}
    dids: dict[str, int] = {}
    for trunk in trunks:
        entry = trunk.entry
        name = entry.good.get("name")
        if isinstance(name, str):
            if name in names:
                message = f"duplicate trunk name {name!r} (first at line {names[name]})"
                reader.add(entry.line("name"), f"{entry.path}.name", message)
            names.setdefault(name, entry.line("name"))
        _check_kind(reader, entry)
        for number in trunk.numbers:
            did = number.parsed.number if isinstance(number.parsed, NumberEntry) else None
            if did is not None and did in dids:
                message = f"duplicate number {did} (first at line {dids[did]})"
                reader.add(number.line("number"), f"{number.path}.number", message)
            elif did is not None:
                dids[did] = number.line("number")
            room = number.good.get("room")
            if isinstance(room, str) and room not in room_names:
                message = f"unknown room {room!r}" + did_you_mean(room, room_names)
                reader.add(number.line("room"), f"{number.path}.room", message)
            if number.good.get("pin_required") is False and room is None:
                message = "pin_required: false needs a room: (the number leads to one room)"
                reader.add(number.line("pin_required"), f"{number.path}.pin_required", message)


def _check_kind(reader: Reader, entry: Entry) -> None:
    kind, good, where = entry.good.get("kind"), entry.good, entry.path
    secrets = [key for key in ("secret_file", "secret_env") if key in entry.fields]
    if kind == TrunkKind.IP:
        if "match" not in entry.fields:
            message = "required key 'match' is missing (kind ip: the carrier's networks)"
            reader.add(readerline_of(entry), f"{where}.match", message)
        elif good.get("match") == []:
            message = "must list at least one network (kind ip: where its calls come from)"
            reader.add(entry.line("match"), f"{where}.match", message)
        for key in [k for k in ("username", *secrets) if k in entry.fields]:
            message = f"only for kind register (kind ip: calls are known by address, {key} unused)"
            reader.add(entry.line(key), f"{where}.{key}", message)
    elif kind == TrunkKind.REGISTER:
        if "username" not in entry.fields:
            message = "required key 'username' is missing (kind register)"
            reader.add(readerline_of(entry), f"{where}.username", message)
        if len(secrets) != 1:
            message = "kind register needs exactly one of secret_file and secret_env"
            line = entry.line(secrets[1]) if secrets else readerline_of(entry)
            reader.add(line, f"{where}.{secrets[1] if secrets else 'secret_file'}", message)
        file = good.get("secret_file")
        if isinstance(file, str):
            _check_secret_file(reader, entry, resolve(file, reader.filename))
        env = good.get("secret_env")
        if isinstance(env, str) and not os.environ.get(env):
            message = f"the environment variable {env} is not set here (it must be when syncing)"
            reader.warn(entry.line("secret_env"), f"{where}.secret_env", message)


def _check_secret_file(reader: Reader, entry: Entry, path: Path) -> None:
    where, line = f"{entry.path}.secret_file", entry.line("secret_file")
    try:
        status = path.stat()
    except OSError as exc:
        reader.add(line, where, f"{path}: cannot read the secret file: {exc.strerror}")
        return
    if not stat.S_ISREG(status.st_mode):
        reader.add(line, where, f"{path}: not a file")
    elif status.st_mode & 0o077:
        mode = stat.S_IMODE(status.st_mode)
        message = f"{path}: readable by others (mode {mode:04o}); make it private: chmod 600 {path}"
        reader.warn(line, where, message)


def readerline_of(entry: Entry) -> int:
    """The line of an entry's first key, for a key it lacks."""
    lines = [line_of(key) for key, _ in entry.fields.values()]
    return min(lines) if lines else 1


def trunk_specs(trunks: list[TrunkRead], rooms_file: str) -> tuple[TrunkSpec, ...]:
    """The trunks as the bridge sees them (only called when no problem was found)."""
    specs = []
    for trunk in trunks:
        parsed = trunk.entry.parsed
        assert isinstance(parsed, TrunkEntry)
        numbers = tuple(
            TrunkNumber(n.parsed.number, n.parsed.room, n.parsed.pin_required)
            for n in trunk.numbers
            if isinstance(n.parsed, NumberEntry)
        )
        out = trunk.outbound.parsed if trunk.outbound else OutboundEntry()
        assert isinstance(out, OutboundEntry)
        outbound = Outbound(
            tuple(out.allowed_prefixes),
            out.max_concurrent,
            float(out.calls_per_second),
            out.caller_id,
        )
        secret_file = parsed.secret_file
        specs.append(
            TrunkSpec(
                name=parsed.name,
                kind=parsed.kind,
                host=parsed.host,
                port=parsed.port,
                transport=Transport(parsed.transport),
                match=tuple(parsed.match),
                username=parsed.username,
                secret_file=str(resolve(secret_file, rooms_file)) if secret_file else None,
                secret_env=parsed.secret_env,
                numbers=numbers,
                outbound=outbound,
                codecs=tuple(dict.fromkeys(parsed.codecs)),
                dtmf_mode=parsed.dtmf_mode,
                external_media_address=parsed.external_media_address,
                external_signaling_address=parsed.external_signaling_address,
            )
        )
    return tuple(specs)
