"""The rooms a starting service finds: an empty database gets the admin's rooms file (or
the example rooms, only where they belong), a full one is compared with the file, and the
admin is told how to apply a file that differs. A rooms file is never silently ignored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bridge.domain.pins import PinKey
from bridge.domain.rooms import RoomsConfig, RoomSpec
from bridge.errors import StartupError
from bridge.roomsfile import RoomsFileError, load_rooms_file
from bridge.settings import EXAMPLE_ROOMS_FILE, Settings
from bridge.store import rooms
from bridge.store.db import Database
from bridge.store.pin_key import install_pin_key


async def provision_rooms(
    db: Database,
    settings: Settings,
    progress: Callable[[str], None],
    *,
    example_rooms: bool = False,
) -> None:
    """An empty database gets the admin's rooms file, or the example rooms where they may
    go (``up`` on loopback); a full one is compared with the file, and the admin told how
    to apply it when they differ. A rooms file is never silently ignored."""
    source = settings.rooms_file
    key = install_pin_key(settings)
    examples_allowed = example_rooms and settings.on_loopback
    async with db.sessions() as session:
        empty = not await rooms.has_rooms(session)
    # Known PINs and a known moderator password: never where others can dial or log in.
    if not empty and not examples_allowed and await _holds_example_rooms(db, key):
        raise StartupError(
            "the database holds the example rooms, which are only for up on 127.0.0.1: "
            "sync your own rooms file first (iobridge rooms sync FILE)"
        )
    if source is None:
        if empty and not examples_allowed:
            raise StartupError(
                "no rooms yet and no rooms file: write your own (see docs/admin.md) and "
                "set IOBRIDGE_ROOMS_FILE (the example rooms are only for up on 127.0.0.1)"
            )
        if empty:
            examples = _read_rooms(EXAMPLE_ROOMS_FILE)
            await _load(db, examples, key)
            progress(_examples_line(examples))
        return
    if not source.exists():
        if empty:
            raise StartupError(f"rooms file not found: {source} (set IOBRIDGE_ROOMS_FILE)")
        progress(f"rooms file not found: {source}; using the rooms in the database")
        return
    config = _read_rooms(source)
    if empty:
        await _load(db, config, key)
        progress(f"loaded {config.summary()} from {source}")
        return
    changes = await _pending_changes(db, config, key)
    if changes:
        progress(
            f"{source} differs from the database ({changes}); "
            f"apply it with: iobridge rooms sync {source}"
        )


async def _load(db: Database, config: RoomsConfig, key: PinKey) -> None:
    async with db.sessions.begin() as session:
        await rooms.sync_rooms(session, config, pin_key=key)


async def _holds_example_rooms(db: Database, key: PinKey) -> bool:
    return not await _pending_changes(db, _read_rooms(EXAMPLE_ROOMS_FILE), key)


async def _pending_changes(db: Database, config: RoomsConfig, key: PinKey) -> str:
    """What ``rooms sync`` would change, as 'N changes' (empty: nothing)."""
    async with db.sessions() as session, session.begin():
        try:
            report = await rooms.sync_rooms(session, config, pin_key=key)
        except rooms.SyncRefused:
            return "a room in the file is missing from it while a call goes on"
        finally:
            await session.rollback()
    count = len(report.added) + len(report.changed) + len(report.removed)
    return "" if report.empty else f"{count} change{'s' if count != 1 else ''}"


def _read_rooms(path: Path) -> RoomsConfig:
    try:
        return load_rooms_file(path)
    except RoomsFileError as exc:
        raise StartupError(f"{exc.problems[0]} (run: iobridge rooms check {path})") from exc


def shown_in_directory(room: RoomSpec) -> bool:
    return room.public and room.show_pin


def practice_room(room: RoomSpec) -> bool:
    """A practice room's simulated callers dial its participant PIN."""
    return room.practice


class FilePins:
    """The participant PINs of the rooms ``wanted`` picks (the directory shows those with
    ``public`` and ``show_pin``; practice rooms' callers dial theirs), read from the rooms
    file: the one place the digits are. Read again only when the file
    changed; a file that does not read gives none (the directory shows no PIN then)."""

    def __init__(self, path: Path, wanted: Callable[[RoomSpec], bool] = shown_in_directory) -> None:
        self.path = path
        self.wanted = wanted
        self._seen: tuple[int, int] | None = None
        self._pins: dict[str, str] = {}

    def __call__(self) -> dict[str, str]:
        try:
            stat = self.path.stat()
        except OSError:
            return {}
        if (stat.st_mtime_ns, stat.st_size) != self._seen:
            try:
                config = load_rooms_file(self.path)
            except RoomsFileError:
                return {}  # the admin hears of it from rooms check and sync; never the PINs
            self._pins = {r.name: r.pin for r in config.rooms if self.wanted(r)}
            self._seen = (stat.st_mtime_ns, stat.st_size)
        return dict(self._pins)


def _examples_line(config: RoomsConfig) -> str:
    pins = ", ".join(
        f"{room.name} {room.pin}" + (f"/{room.moderator_pin}" if room.moderator_pin else "")
        for room in config.rooms
    )
    return f"no rooms yet: loaded the example rooms (PIN/moderator PIN): {pins}"
