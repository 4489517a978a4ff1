"""Moderators' roles in the rooms file: ``rooms: [{room, role}]``, the old list as hosts."""

from __future__ import annotations

from textwrap import dedent, indent

import argon2
import pytest

from bridge.domain.accounts import Principal, Right, Via
from bridge.roomsfile import RoomsFileError, parse_rooms_text

HASH = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash("s3cret")
ROOMS = """\
rooms:
  - name: ga-national
    pin: "424242"
  - name: wg-1
    pin: "535353"
moderators:
  - username: volunteer
    password_hash: "HASH"
    rooms:
"""


def parse(rooms: str):  # type: ignore[no-untyped-def]
    return parse_rooms_text(
        ROOMS.replace("HASH", HASH) + indent(dedent(rooms), "      "), "rooms.yaml"
    )


def problems(rooms: str) -> list[str]:
    with pytest.raises(RoomsFileError) as info:
        parse(rooms)
    return [str(p) for p in info.value.problems]


def test_a_room_given_with_a_role_makes_the_moderator_its_assistant() -> None:
    config = parse("""\
          - {room: ga-national, role: assistant}
          - room: wg-1
            role: host
    """)
    spec = config.moderators[0]
    assert spec.rooms == ("ga-national", "wg-1")
    assert spec.assisting == ("ga-national",)
    principal = Principal.from_room_list("volunteer", spec.rooms, Via.SESSION, spec.assisting)
    assert principal.role_in("ga-national") is Right.ASSISTANT
    assert principal.role_in("wg-1") is Right.HOST


def test_the_old_list_of_names_still_makes_hosts_and_the_forms_mix() -> None:
    spec = parse("""\
          - ga-national
          - {room: wg-1}
    """).moderators[0]
    assert spec.rooms == ("ga-national", "wg-1")
    assert spec.assisting == ()


def test_a_role_that_does_not_exist_is_refused_on_its_own_line() -> None:
    assert problems("""\
          - ga-national
          - {room: wg-1, role: chair}
    """) == [
        "rooms.yaml:11: moderators[0].rooms: role: no role 'chair'"
        " (expected one of: assistant, host)"
    ]


def test_a_misspelt_role_gets_a_suggestion() -> None:
    (found,) = problems("""\
          - room: wg-1
            role: asistant
    """)
    assert found.startswith("rooms.yaml:11: moderators[0].rooms: role: no role 'asistant'")
    assert found.endswith("did you mean 'assistant'?")


def test_an_unknown_key_or_a_missing_room_in_a_grant_is_refused() -> None:
    assert problems("""\
          - {rooom: wg-1, role: host}
    """) == [
        "rooms.yaml:10: moderators[0].rooms: unknown key 'rooom' (expected one of: room,"
        " role); did you mean 'room'?"
    ]
    assert problems("""\
          - {role: host}
    """) == ["rooms.yaml:10: moderators[0].rooms: required key 'room' is missing"]


def test_an_unknown_room_in_a_grant_is_named() -> None:
    (found,) = problems("""\
          - {room: wg-2, role: assistant}
    """)
    assert found.startswith("rooms.yaml:10: moderators[0].rooms: unknown room 'wg-2'")


def test_a_room_listed_as_both_host_and_assistant_is_refused() -> None:
    (found,) = problems("""\
          - ga-national
          - {room: ga-national, role: assistant}
    """)
    assert "room 'ga-national' is listed as both host and assistant" in found


def test_every_room_as_an_assistant() -> None:
    spec = parse("""\
          - {room: "*", role: assistant}
    """).moderators[0]
    principal = Principal.from_room_list("volunteer", spec.rooms, Via.TOKEN, spec.assisting)
    assert principal.role_in("anything") is Right.ASSISTANT
    assert not principal.may(Right.HOST, "anything")
    assert principal.may(Right.ASSISTANT, "anything")
