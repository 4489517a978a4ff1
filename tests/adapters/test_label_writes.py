"""The labels moderators give reach the callers' legs (for the report) by one writer, in the
order they were given: a burst of labels is a row of short writes, not as many writers at
once on SQLite's lock; a newer label for a caller replaces one still waiting; a write that
fails loses that label alone. The database is stood in for by ``keep``: what is checked
here is the order and the number of writes at once."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bridge.domain.events import ParticipantJoined, Role, RoomStarted
from bridge.domain.roster import Switchboard
from bridge.service.labels import CallerLabels

ROOM = "general-assembly"


class Disk:
    """A slow disk: each write takes a moment; counts the writers at once."""

    def __init__(self, fail_for: str = "") -> None:
        self.written: list[tuple[str, str]] = []
        self.at_once = 0
        self.most_at_once = 0
        self.fail_for = fail_for

    async def keep(self, room: str, channel: str, label: str) -> bool:
        self.at_once += 1
        self.most_at_once = max(self.most_at_once, self.at_once)
        try:
            await asyncio.sleep(0.01)
            if channel == self.fail_for:
                raise OSError("database is locked")
            self.written.append((channel, label))
            return True
        finally:
            self.at_once -= 1


def labels_in_a_room(disk: Disk, callers: int) -> CallerLabels:
    switchboard = Switchboard()
    now = time.time()
    switchboard.apply(RoomStarted(ROOM, now))
    for n in range(callers):
        joined = ParticipantJoined(ROOM, f"PJSIP/c-{n}", f"555{n:04d}", Role.PARTICIPANT, True, now)
        switchboard.apply(joined)

    async def known() -> dict[str, str]:
        return {}

    return CallerLabels(switchboard, lambda room, marked: None, known, disk.keep)


async def test_a_burst_of_labels_is_written_one_at_a_time_in_the_order_given() -> None:
    disk = Disk()
    labels = labels_in_a_room(disk, 43)
    for n in range(43):
        labels.give(ROOM, f"PJSIP/c-{n}", f"Speaker {n}")
    await labels.flushed()
    assert disk.written == [(f"PJSIP/c-{n}", f"Speaker {n}") for n in range(43)]
    assert disk.most_at_once == 1


async def test_a_newer_label_replaces_one_still_waiting_and_one_being_written_is_followed() -> None:
    disk = Disk()
    labels = labels_in_a_room(disk, 3)
    labels.give(ROOM, "PJSIP/c-0", "Alex")  # being written at once
    labels.give(ROOM, "PJSIP/c-1", "Sam")  # waits
    labels.give(ROOM, "PJSIP/c-1", "Sam, Oakland")  # replaces it: one write
    await asyncio.sleep(0)
    labels.give(ROOM, "PJSIP/c-0", "Alex, Bronx")  # the first is on the disk: written after
    await labels.flushed()
    assert disk.written == [
        ("PJSIP/c-0", "Alex"),
        ("PJSIP/c-1", "Sam, Oakland"),
        ("PJSIP/c-0", "Alex, Bronx"),
    ]
    assert labels.name_of(ROOM, "5550000", "PJSIP/c-0") == "Alex, Bronx"


async def test_a_write_that_fails_loses_its_label_alone_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    disk = Disk(fail_for="PJSIP/c-1")
    labels = labels_in_a_room(disk, 3)
    for n in range(3):
        labels.give(ROOM, f"PJSIP/c-{n}", f"Speaker {n}")
    with caplog.at_level(logging.ERROR, logger="bridge.service.labels"):
        await labels.flushed()
    assert disk.written == [("PJSIP/c-0", "Speaker 0"), ("PJSIP/c-2", "Speaker 2")]
    assert "labels.unkept room=general-assembly channel=PJSIP/c-1" in caplog.text
    # The panel still shows it: only the report goes without.
    assert labels.name_of(ROOM, "5550001", "PJSIP/c-1") == "Speaker 1"
