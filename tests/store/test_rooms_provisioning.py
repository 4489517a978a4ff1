"""Which rooms a starting stack runs on: the admin's file, the example rooms only on
loopback, and never a rooms file silently ignored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.errors import StartupError
from bridge.provision import provision_rooms
from bridge.settings import EXAMPLE_ROOMS_FILE, Settings
from bridge.store.db import Database, upgrade
from bridge.store.rooms import active_rooms

ROOMS = """\
rooms:
  - name: ga
    pin: "731904"
  - name: wg
    pin: "482211"
"""


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """SQLite alone: these rules do not depend on the database."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'rooms.sqlite3'}"
    await upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        await database.dispose()


async def names(db: Database) -> list[str]:
    async with db.sessions() as session:
        return [room.name for room in await active_rooms(session)]


async def provision(db: Database, settings: Settings, *, example_rooms: bool) -> list[str]:
    said: list[str] = []
    await provision_rooms(db, settings, said.append, example_rooms=example_rooms)
    return said


async def test_up_on_loopback_loads_the_example_rooms_and_names_their_pins(
    db: Database, tmp_path: Path
) -> None:
    said = await provision(db, Settings(state_dir=tmp_path), example_rooms=True)

    assert len(said) == 1
    assert said[0].startswith("no rooms yet: loaded the example rooms")
    assert "wg-housing 5150/5151" in said[0] and "ga-national 424242/919191" in said[0]
    assert await names(db) == ["coordination", "ga-national", "wg-housing"]
    # Loaded once: a later start neither reloads them nor says anything.
    assert await provision(db, Settings(state_dir=tmp_path), example_rooms=True) == []


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10"])
async def test_up_bound_to_another_address_refuses_the_example_rooms(
    db: Database, tmp_path: Path, host: str
) -> None:
    with pytest.raises(StartupError) as refused:
        await provision(db, Settings(state_dir=tmp_path, bind_host=host), example_rooms=True)
    assert str(refused.value) == (
        "no rooms yet and no rooms file: write your own (see docs/admin.md) and "
        "set IOBRIDGE_ROOMS_FILE (the example rooms are only for up on 127.0.0.1)"
    )
    assert await names(db) == []


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1"])
async def test_example_rooms_loaded_on_loopback_are_refused_elsewhere_and_by_the_service(
    db: Database, tmp_path: Path, host: str
) -> None:
    await provision(db, Settings(state_dir=tmp_path), example_rooms=True)
    with pytest.raises(StartupError) as refused:
        # up on another address, or the service (which never takes the example rooms)
        await provision(db, Settings(state_dir=tmp_path, bind_host=host), example_rooms=False)
    assert str(refused.value) == (
        "the database holds the example rooms, which are only for up on 127.0.0.1: "
        "sync your own rooms file first (iobridge rooms sync FILE)"
    )
    (tmp_path / "rooms.yaml").write_text(ROOMS)  # named, but not synced yet: refused all the same
    with pytest.raises(StartupError, match="holds the example rooms"):
        await provision(
            db,
            Settings(state_dir=tmp_path, bind_host=host, rooms_file=tmp_path / "rooms.yaml"),
            example_rooms=False,
        )


async def test_the_service_never_loads_the_example_rooms(db: Database, tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="no rooms yet and no rooms file"):
        await provision(db, Settings(state_dir=tmp_path), example_rooms=False)


async def test_an_empty_database_gets_the_admins_rooms_file_on_any_address(
    db: Database, tmp_path: Path
) -> None:
    (tmp_path / "rooms.yaml").write_text(ROOMS)
    settings = Settings(state_dir=tmp_path, bind_host="0.0.0.0", rooms_file=tmp_path / "rooms.yaml")

    said = await provision(db, settings, example_rooms=False)

    assert said == [f"loaded 2 rooms, 0 moderators from {tmp_path / 'rooms.yaml'}"]
    assert await names(db) == ["ga", "wg"]


async def test_an_edited_rooms_file_is_reported_with_how_to_apply_it(
    db: Database, tmp_path: Path
) -> None:
    rooms_file = tmp_path / "rooms.yaml"
    rooms_file.write_text(ROOMS)
    settings = Settings(state_dir=tmp_path, rooms_file=rooms_file)
    await provision(db, settings, example_rooms=False)
    assert await provision(db, settings, example_rooms=False) == []  # the same: nothing said

    rooms_file.write_text(
        ROOMS.replace('"482211"', '"482212"') + '  - name: new\n    pin: "1111"\n'
    )
    said = await provision(db, settings, example_rooms=False)

    assert said == [
        f"{rooms_file} differs from the database (2 changes); "
        f"apply it with: iobridge rooms sync {rooms_file}"
    ]
    assert await names(db) == ["ga", "wg"], "nothing is applied behind the admin's back"


async def test_the_example_rooms_file_ships_inside_the_package() -> None:
    assert EXAMPLE_ROOMS_FILE.is_file()
    assert EXAMPLE_ROOMS_FILE.parent.parent.name == "data-files"
