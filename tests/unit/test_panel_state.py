"""What the panel's feed sends: the changes between two versions of a room, and how the
audit trail reads. Pure functions, no loop."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, strategies as st

from bridge.domain.events import Role
from bridge.domain.roster import Participant
from bridge.store.audit import ActionRecord
from bridge.web.panel.state import audit_entry, changes, roster_row

AT = datetime(2026, 3, 2, 20, 14, 3, tzinfo=UTC)
ROOM = "ga"


def person(channel: str, muted: bool = False, talk_time: float = 0.0) -> dict[str, Any]:
    return {"channel": channel, "caller_id": channel[-4:], "muted": muted, "talk_time": talk_time}


def room(*people: dict[str, Any], now: float = 1.0, locked: bool = False) -> dict[str, Any]:
    return {
        "now": now,
        "room": {"locked": locked},
        "stack": {"speaker": None, "queue": []},
        "audit": [],
        "participants": list(people),
    }


def test_a_mute_sends_that_one_participant_only() -> None:
    before = room(*(person(f"PJSIP/a-{n:04d}") for n in range(400)))
    after = room(*(person(f"PJSIP/a-{n:04d}", muted=n == 7) for n in range(400)), now=2.0)
    assert changes(before, after) == {"now": 2.0, "upsert": [person("PJSIP/a-0007", True)]}


def test_a_leave_and_a_lock_are_sent_and_nothing_changed_is_none() -> None:
    before = room(person("PJSIP/a"), person("PJSIP/b"))
    after = room(person("PJSIP/a"), locked=True, now=2.0)
    assert changes(before, after) == {"now": 2.0, "room": {"locked": True}, "remove": ["PJSIP/b"]}
    assert changes(after, {**after, "now": 3.0}) is None


people = st.dictionaries(
    st.sampled_from([f"PJSIP/x-{n}" for n in range(8)]),
    st.tuples(st.booleans(), st.sampled_from([0.0, 1.5])),
)


@given(before=people, after=people)
def test_applying_the_changes_to_the_old_room_gives_the_new_one(
    before: dict[str, tuple[bool, float]], after: dict[str, tuple[bool, float]]
) -> None:
    old = room(*(person(c, m, t) for c, (m, t) in before.items()))
    new = room(*(person(c, m, t) for c, (m, t) in after.items()), now=2.0)
    delta = changes(old, new) or {}
    held = {p["channel"]: p for p in old["participants"]}
    held.update({p["channel"]: p for p in delta.get("upsert", [])})
    for channel in delta.get("remove", []):
        del held[channel]
    assert held == {p["channel"]: p for p in new["participants"]}


def test_the_trail_reads_who_did_what_to_whom() -> None:
    mute = ActionRecord(ROOM, AT, "alice", "mute", "PJSIP/a-1", "5550123")
    assert audit_entry(mute)["text"] == "alice muted 5550123"
    kick = ActionRecord(ROOM, AT, "bob", "kick", "PJSIP/a-1", "", result="no_such_participant",
                        message="'PJSIP/a-1' is not in room 'ga' (any more)")  # fmt: skip
    assert audit_entry(kick)["text"] == (
        "bob tried kick PJSIP/a-1: 'PJSIP/a-1' is not in room 'ga' (any more)"
    )
    move = ActionRecord(ROOM, AT, "admin", "move", "PJSIP/a-1", "5550123", '{"place": 2}')
    assert audit_entry(move)["text"] == "admin moved 5550123 (place: 2)"
    assert audit_entry(mute)["at"] == AT.timestamp()


def test_a_talkers_row_stays_the_same_while_they_talk_and_the_page_runs_the_clock() -> None:
    talker = Participant("PJSIP/t", "5551", Role.PARTICIPANT, joined_at=100.0, talk_time=12.0)
    talker.start_talking(200.0)
    quiet = Participant("PJSIP/q", "5552", Role.PARTICIPANT, joined_at=100.0, talk_time=3.0)

    assert roster_row(talker, 201.0) == roster_row(talker, 260.0)
    row = roster_row(talker, 260.0)
    assert (row["talking"], row["talk_time"], row["talking_since"]) == (True, 12.0, 200.0)

    talker.stop_talking(230.0)
    row = roster_row(talker, 260.0)
    assert (row["talking"], row["talk_time"], row["talking_since"]) == (False, 42.0, None)
    assert roster_row(quiet, 260.0)["talking_since"] is None
