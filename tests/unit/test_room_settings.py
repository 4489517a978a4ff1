"""A room's settings are defined once (``RoomSpec``); the rooms file, the database model
and the sync all follow that one definition."""

from __future__ import annotations

from bridge.domain.rooms import ROOM_SETTINGS, SECRET_SETTINGS, QueuePolicy, RoomSpec
from bridge.roomsfile.entries import EXPECTED, ROOM_FILES, RoomEntry
from bridge.store.models import Room
from bridge.store.rooms import PIN_COLUMNS


def test_the_rooms_file_accepts_exactly_the_settings_a_room_has_and_its_files() -> None:
    assert set(RoomEntry.model_fields) == {"name", *ROOM_SETTINGS, *ROOM_FILES}
    assert not set(ROOM_FILES) & set(ROOM_SETTINGS)


def test_every_setting_has_words_for_what_it_should_look_like() -> None:
    assert {"name", *ROOM_SETTINGS} <= set(EXPECTED)


def test_the_database_has_a_column_for_every_setting_and_only_hashes_of_the_pins() -> None:
    columns = set(Room.__table__.columns.keys())
    assert set(ROOM_SETTINGS) - set(PIN_COLUMNS) <= columns
    assert set(PIN_COLUMNS.values()) <= columns
    assert not set(PIN_COLUMNS) & columns  # no column holds a PIN itself


def test_settings_round_trip_through_plain_values() -> None:
    spec = RoomSpec("ga", "General assembly", pin="424242", queue=QueuePolicy.PROGRESSIVE)
    plain = spec.settings()
    assert plain["queue"] == "progressive" and "name" not in plain
    assert RoomSpec(name="ga", **plain) == spec


def test_pins_are_the_secret_settings() -> None:
    assert set(SECRET_SETTINGS) == {"pin", "moderator_pin"}
    assert "424242" not in repr(RoomSpec("ga", "GA", pin="424242"))
