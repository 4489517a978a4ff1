"""Trunks in the database: replaced at each sync, read back whole, never with a secret."""

from __future__ import annotations

from sqlalchemy import text

from bridge.domain.rooms import RoomsConfig, RoomSpec
from bridge.domain.trunks import Outbound, TrunkKind, TrunkNumber, TrunkSpec
from bridge.store.db import Database
from bridge.store.rooms import sync_rooms
from bridge.store.trunks import number_of, stored_trunks
from tests.support import TEST_PIN_KEY

ROOM = RoomSpec(name="assembly", pin="12345678", title="Assembly")
CARRIER = TrunkSpec(
    name="carrier",
    kind=TrunkKind.REGISTER,
    host="sip.example.net",
    username="77",
    secret_env="CARRIER_SECRET",
    numbers=(TrunkNumber("+15557770000"), TrunkNumber("+15557770001", "assembly", False)),
    outbound=Outbound(("+1555",), 10, 5.0, "+15557770000"),
)


async def test_a_sync_stores_trunks_and_their_numbers_and_reads_them_back(db: Database) -> None:
    async with db.sessions.begin() as session:
        report = await sync_rooms(
            session, RoomsConfig(rooms=(ROOM,), trunks=(CARRIER,)), pin_key=TEST_PIN_KEY
        )
    assert "trunk carrier" in report.added
    async with db.sessions() as session:
        assert await stored_trunks(session) == [CARRIER]
        assert await number_of(session, "carrier", "+15557770001") == CARRIER.numbers[1]
        assert await number_of(session, "other", "+15557770001") is None
        rows = (await session.execute(text("SELECT settings FROM trunks"))).scalars().all()
    assert "secret_env" in rows[0] and "CARRIER_SECRET" in rows[0]  # where, never what


async def test_a_trunk_left_out_of_the_file_is_removed_with_its_numbers(db: Database) -> None:
    async with db.sessions.begin() as session:
        await sync_rooms(
            session, RoomsConfig(rooms=(ROOM,), trunks=(CARRIER,)), pin_key=TEST_PIN_KEY
        )
    async with db.sessions.begin() as session:
        report = await sync_rooms(session, RoomsConfig(rooms=(ROOM,)), pin_key=TEST_PIN_KEY)
    assert report.removed == ["trunk carrier"]
    async with db.sessions() as session:
        assert await stored_trunks(session) == []
        assert await number_of(session, "carrier", "+15557770000") is None
