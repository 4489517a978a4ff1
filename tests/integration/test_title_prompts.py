"""A room's title prompt made by the service's start, end to end: a room with a trunk to be
called in through and a title, a restart of the session's service, and the prompt in the
recordings folder's titles/ as Asterisk plays it (8 kHz, mono, 16-bit), spoken in the
room's language. Nothing but the start makes it here: the rooms are written straight into
the database, as a sync by another host would leave them, without `iobridge rooms sync`."""

from __future__ import annotations

import dataclasses
import wave

from bridge.domain.rooms import RoomSpec
from bridge.domain.trunks import Outbound, TrunkKind, TrunkSpec
from bridge.roomsfile import load_rooms_file
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.store.pin_key import install_pin_key
from bridge.store.rooms import sync_rooms
from tests.conftest import E2E_ROOMS
from tests.support import eventually

ROOM = RoomSpec(name="e2e-titled", title="Assemblée du port", pin="71717171", language="fr")
TRUNK = TrunkSpec(
    name="e2e-titles",
    kind=TrunkKind.IP,
    host="127.0.0.99",
    match=("127.0.0.99/32",),
    outbound=Outbound(("+1555999",)),
)


async def _sync(runtime: Runtime, settings: Settings, rooms: tuple[RoomSpec, ...],
                trunks: tuple[TrunkSpec, ...]) -> None:  # fmt: skip
    config = load_rooms_file(E2E_ROOMS)
    config = dataclasses.replace(config, rooms=(*config.rooms, *rooms), trunks=trunks)
    assert runtime.service is not None
    async with runtime.service.db.sessions.begin() as session:
        await sync_rooms(session, config, pin_key=install_pin_key(settings))


async def test_the_service_start_makes_the_title_prompt_of_a_room_callers_may_be_called_into(
    runtime: Runtime, runtime_settings: Settings
) -> None:
    titles = runtime_settings.recordings_dir / "titles"
    prompt, stamp = titles / f"{ROOM.name}.wav", titles / f"{ROOM.name}.stamp"
    prompt.unlink(missing_ok=True)
    stamp.unlink(missing_ok=True)
    await _sync(runtime, runtime_settings, (ROOM,), (TRUNK,))
    try:
        assert not prompt.exists()  # the database alone makes no sound
        await runtime.restart_service()
        await eventually(stamp.exists, timeout=30, every=0.2)
        assert stamp.read_text().strip() == f"speech fr {ROOM.title}"
        with wave.open(str(prompt), "rb") as sound:
            assert (sound.getframerate(), sound.getnchannels(), sound.getsampwidth()) == (
                8000,
                1,
                2,
            )
            assert sound.getnframes() > 8000 * 0.5  # half a second of speech, at least
        assert prompt.stat().st_mode & 0o777 == 0o644  # Asterisk's user reads it as "other"
    finally:
        await _sync(runtime, runtime_settings, (), ())
