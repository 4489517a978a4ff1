"""The rooms file's ``trunks:``: the shape of issue 18, checked like rooms (one
``FILE:LINE: field: message`` line per problem), secrets never inline nor echoed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.domain.trunks import DtmfMode, NotANumber, Outbound, TrunkKind, e164
from bridge.roomsfile import Problem, RoomsFileError, load_rooms_file

ROOMS = """\
rooms:
  - name: assembly
    pin: "12345678"
  - name: legal
    pin: "87654321"
"""
CARRIER = """\
trunks:
  - name: carrier
    kind: ip
    host: 203.0.113.10
    port: 5060
    match: ["203.0.113.0/28"]
    numbers:
      - number: "+15557770000"
      - number: "+15557770001"
        room: assembly
        pin_required: false
    outbound:
      allowed_prefixes: ["+1555"]
      max_concurrent: 10
      calls_per_second: 5
      caller_id: "+15557770000"
"""


def problems_of(folder: Path, text: str) -> list[str]:
    rooms = folder / "rooms.yaml"
    rooms.write_text(text)
    with pytest.raises(RoomsFileError) as caught:
        load_rooms_file(rooms)
    return [str(p).removeprefix(f"{rooms}:") for p in caught.value.problems]


def test_the_issues_example_reads_as_one_ip_trunk_with_two_numbers(tmp_path: Path) -> None:
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(ROOMS + CARRIER)
    config = load_rooms_file(rooms)
    (trunk,) = config.trunks
    assert trunk.kind is TrunkKind.IP
    assert trunk.match == ("203.0.113.0/28",)
    assert trunk.codecs == ("ulaw", "alaw", "g722")
    assert trunk.dtmf_mode is DtmfMode.AUTO  # RFC 4733, inband when not offered
    assert trunk.number("+15557770000") is not None
    assert trunk.number("15557770001") == trunk.numbers[1]  # a DID without its +
    assert trunk.numbers[1].room == "assembly" and not trunk.numbers[1].pin_required
    assert trunk.outbound == Outbound(("+1555",), 10, 5.0, "+15557770000")
    assert config.summary() == "2 rooms, 0 moderators, 1 trunk"


def test_a_duplicate_number_names_both_lines(tmp_path: Path) -> None:
    text = ROOMS + CARRIER.replace('"+15557770001"', '"+1 555 777 0000"')
    assert problems_of(tmp_path, text) == [
        "14: trunks[0].numbers[1].number: duplicate number +15557770000 (first at line 13)"
    ]


def test_a_room_number_names_a_known_room(tmp_path: Path) -> None:
    text = ROOMS + CARRIER.replace("room: assembly", "room: asembly")
    assert problems_of(tmp_path, text) == [
        "15: trunks[0].numbers[1].room: unknown room 'asembly'; did you mean 'assembly'?"
    ]


def test_a_secret_written_inline_is_refused_and_never_echoed(tmp_path: Path) -> None:
    text = ROOMS + CARRIER.replace("kind: ip", "kind: register\n    password: hunter2-x")
    found = problems_of(tmp_path, text)
    assert any("trunks[0].password: secrets are never written" in p for p in found)
    assert not any("hunter2" in p for p in found)


def test_a_register_trunk_needs_a_secret_file_that_exists(tmp_path: Path) -> None:
    register = CARRIER.replace("kind: ip", 'kind: register\n    username: "77"').replace(
        '    match: ["203.0.113.0/28"]\n', "    secret_file: carrier.secret\n"
    )
    found = problems_of(tmp_path, ROOMS + register)
    assert found == [
        f"12: trunks[0].secret_file: {tmp_path}/carrier.secret: cannot read the secret file: "
        "No such file or directory"
    ]
    secret = tmp_path / "carrier.secret"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    rooms = tmp_path / "rooms.yaml"
    warnings: list[Problem] = []
    (trunk,) = load_rooms_file(rooms, warnings).trunks
    assert trunk.secret_file == str(secret) and trunk.username == "77"
    assert [w.field for w in warnings] == ["trunks[0].secret_file"]
    assert "readable by others (mode 0644)" in warnings[0].message
    secret.chmod(0o600)
    warnings.clear()
    load_rooms_file(rooms, warnings)
    assert warnings == []


def test_an_ip_trunk_needs_its_networks(tmp_path: Path) -> None:
    text = ROOMS + CARRIER.replace('    match: ["203.0.113.0/28"]\n', "")
    assert problems_of(tmp_path, text) == [
        "7: trunks[0].match: required key 'match' is missing (kind ip: the carrier's networks)"
    ]


def test_trunks_make_pins_shorter_than_8_digits_a_problem(tmp_path: Path) -> None:
    text = ROOMS.replace('"12345678"', '"424242"') + CARRIER
    assert problems_of(tmp_path, text) == [
        "3: rooms[0].pin: must be at least 8 digits, got 6: the rooms file declares trunks, "
        'so guessing is faster (docs/admin.md, "Guessing a PIN")'
    ]


def test_outbound_settings_are_checked_each_on_its_line(tmp_path: Path) -> None:
    text = ROOMS + CARRIER.replace('["+1555"]', "[1555]").replace(
        "calls_per_second: 5", "calls_per_second: 0"
    )
    assert problems_of(tmp_path, text) == [
        "18: trunks[0].outbound.allowed_prefixes: each entry must be a prefix in quotes, like "
        '"+1555", got 1555',
        "20: trunks[0].outbound.calls_per_second: must be a number of calls per second above "
        "0, at most 50, got 0",
    ]


def test_pin_required_false_needs_a_room(tmp_path: Path) -> None:
    text = ROOMS + CARRIER.replace("        room: assembly\n", "")
    assert problems_of(tmp_path, text) == [
        "15: trunks[0].numbers[1].pin_required: pin_required: false needs a room: "
        "(the number leads to one room)"
    ]


@pytest.mark.parametrize(
    ("typed", "number"),
    [("+1 (555) 777-0000", "+15557770000"), ("0044 20 7946 0000", "+442079460000")],
)
def test_numbers_are_normalised_to_e164(typed: str, number: str) -> None:
    assert e164(typed) == number


@pytest.mark.parametrize("typed", ["5557770000", "+1555abc", "+12"])
def test_a_number_that_is_not_e164_is_refused_with_one_line(typed: str) -> None:
    with pytest.raises(NotANumber, match=re.escape(repr(typed))):
        e164(typed)
