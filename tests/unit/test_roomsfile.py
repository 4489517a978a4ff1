"""The rooms file parser: every rule, with the exact line each problem points at."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import argon2
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bridge.domain.rooms import ModeratorSpec, QueuePolicy, RoomsConfig, RoomSpec
from bridge.roomsfile import Problem, RoomsFileError, load_rooms_file, parse_rooms_text
from bridge.roomsfile.entries import RoomEntry

ROOT = Path(__file__).resolve().parents[2]
# Cheap parameters: the parser only checks the hash's shape, never its cost.
# OWASP's minimum (19 MiB, 2 passes): the cheapest hash the file check accepts.
CHEAPEST = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
HASH = CHEAPEST.hash("s3cret")

# Every key a room may have, in the order the "expected one of" messages list them.
ROOM_KEYS = ", ".join(RoomEntry.model_fields)


def parse(text: str) -> RoomsConfig:
    return parse_rooms_text(dedent(text), "rooms.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(RoomsFileError) as info:
        parse(text)
    return [str(p) for p in info.value.problems]


def problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# --- valid files ---------------------------------------------------------------------------


def test_minimal_room_gets_the_defaults() -> None:
    config = parse("""\
        rooms:
          - name: ga-national
            pin: "424242"
    """)
    assert config.rooms == (
        RoomSpec(
            name="ga-national",
            title="ga-national",
            pin="424242",
            moderator_pin=None,
            max_participants=500,
            muted_on_entry=False,
            queue=QueuePolicy.FIFO,
            speaking_time_limit=0,
            record=False,
            announce_names=False,
        ),
    )
    assert config.moderators == ()
    assert config.summary() == "1 room, 0 moderators"


def test_every_field_is_read() -> None:
    config = parse(f"""\
        rooms:
          - name: ga-national
            title: National general call
            pin: "424242"
            moderator_pin: "919191"
            max_participants: 300
            muted_on_entry: true
            queue: progressive
            speaking_time_limit: 90
            record: true
            announce_names: true
          - name: wg-1
            pin: "0042"
        moderators:
          - username: stack.keeper_1
            password_hash: "{HASH}"
            rooms: [wg-1, ga-national, wg-1]
          - username: admin
            password_hash: '{HASH}'
            rooms: ["*"]
    """)
    ga, wg = config.rooms
    assert ga == RoomSpec(
        name="ga-national",
        title="National general call",
        pin="424242",
        moderator_pin="919191",
        max_participants=300,
        muted_on_entry=True,
        queue=QueuePolicy.PROGRESSIVE,
        speaking_time_limit=90,
        record=True,
        announce_names=True,
    )
    assert wg.pin == "0042"  # quoted: leading zeros kept
    keeper, admin = config.moderators
    assert keeper == ModeratorSpec("stack.keeper_1", HASH, ("wg-1", "ga-national"))
    assert keeper.may_moderate("wg-1") and not keeper.may_moderate("elsewhere")
    assert admin.rooms == ("*",) and admin.may_moderate("anything")
    assert config.summary() == "2 rooms, 2 moderators"


def test_optional_keys_may_be_left_empty() -> None:
    config = parse("""\
        rooms:
          - name: a1
            pin: "1234"
            title:
            moderator_pin: ~
        moderators:
    """)
    assert config.rooms[0].title == "a1"
    assert config.rooms[0].moderator_pin is None
    assert config.moderators == ()


def test_example_file_is_valid_and_its_password_is_change_me() -> None:
    config = load_rooms_file(ROOT / "examples" / "rooms.yaml")
    assert config.summary() == "3 rooms, 1 moderator"
    assert {r.queue for r in config.rooms} == {QueuePolicy.FIFO, QueuePolicy.PROGRESSIVE}
    assert any(r.record for r in config.rooms)
    (moderator,) = config.moderators
    assert moderator.password_hash.startswith("$argon2id$")
    assert argon2.PasswordHasher().verify(moderator.password_hash, "change-me")


def test_end_to_end_rooms_file_is_valid() -> None:
    config = load_rooms_file(ROOT / "tests" / "data" / "rooms-e2e.yaml")
    assert len(config.rooms) >= 1


def test_utf8_bom_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "rooms.yaml"
    path.write_bytes(b'\xef\xbb\xbfrooms:\n  - name: a\n    pin: "1234"\n')
    assert load_rooms_file(path).rooms[0].name == "a"


def test_reprs_keep_pins_and_hashes_out_of_logs() -> None:
    config = parse(f"""\
        rooms:
          - {{name: a, pin: "424242", moderator_pin: "919191"}}
        moderators:
          - {{username: u, password_hash: "{HASH}", rooms: ["*"]}}
    """)
    text = repr(config)
    assert "424242" not in text and "919191" not in text and HASH not in text


def test_problem_and_error_formatting() -> None:
    first = Problem("rooms.yaml", 7, "rooms[1].recrod", "unknown key")
    assert str(first) == "rooms.yaml:7: rooms[1].recrod: unknown key"
    error = RoomsFileError([first, Problem("rooms.yaml", 9, "file", "x")])
    assert str(error) == "rooms.yaml:7: rooms[1].recrod: unknown key\nrooms.yaml:9: file: x"


# --- structure -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "rooms.yaml:1: file: the file is empty; expected 'rooms:' with at least one room"),
        ("# nothing yet\n", "rooms.yaml:1: file: the file is empty"),
        ("---\n", "rooms.yaml:1: file: the file is empty"),
        ("- a\n- b\n", "rooms.yaml:1: file: expected 'rooms:' and 'moderators:', got a list"),
        ("\n\nhello\n", "rooms.yaml:3: file: expected 'rooms:' and 'moderators:', got 'hello'"),
        ("moderators: []\n", "rooms.yaml:1: rooms: required key 'rooms' is missing"),
        ("rooms: []\n", "rooms.yaml:1: rooms: no rooms listed; add at least one"),
        ("\nrooms:\n", "rooms.yaml:2: rooms: no rooms listed; add at least one"),
        (
            "rooms:\n  ga:\n    pin: '1234'\n",
            "rooms.yaml:1: rooms: must be a list, each entry starting with '- ', got a mapping",
        ),
    ],
)
def test_top_level_shape(text: str, expected: str) -> None:
    assert problem(text).startswith(expected)


def test_unknown_top_level_key() -> None:
    assert problems("""\
        rooms:
          - {name: a, pin: "1234"}
        moderator:
          - username: u
    """) == [
        "rooms.yaml:3: moderator: unknown key 'moderator'"
        " (expected one of: rooms, moderators, cues, trunks, directory);"
        " did you mean 'moderators'?"
    ]


def test_moderators_must_be_a_list() -> None:
    assert problem("""\
        rooms:
          - {name: a, pin: "1234"}
        moderators: stackkeeper
    """) == (
        "rooms.yaml:3: moderators: must be a list, each entry starting with '- ', got 'stackkeeper'"
    )


def test_entries_must_be_mappings() -> None:
    assert problems("""\
        rooms:
          - {name: a, pin: "1234"}
          -
          - ga-national
          - [a, b]
        moderators:
          - stackkeeper
    """) == [
        "rooms.yaml:3: rooms[1]: must be a mapping of settings, got nothing",
        "rooms.yaml:4: rooms[2]: must be a mapping of settings, got 'ga-national'",
        "rooms.yaml:5: rooms[3]: must be a mapping of settings, got a list",
        "rooms.yaml:7: moderators[0]: must be a mapping of settings, got 'stackkeeper'",
    ]


def test_unknown_key_names_the_expected_ones() -> None:
    assert problem("""\
        rooms:
          - name: ga-national
            pin: "424242"
          - name: wg
            pin: "5150"
            max_participants: 20
            recrod: true
    """) == (
        f"rooms.yaml:7: rooms[1].recrod: unknown key 'recrod' (expected one of: {ROOM_KEYS});"
        " did you mean 'record'?"
    )


def test_unknown_key_without_a_close_match() -> None:
    message = problem("rooms:\n  - {name: a, pin: '1234', colour: red}\n")
    assert message.startswith("rooms.yaml:2: rooms[0].colour: unknown key 'colour' (expected")
    assert "did you mean" not in message


def test_duplicate_keys_are_refused_not_silently_overwritten() -> None:
    assert problems("""\
        rooms:
          - name: a
            pin: "1234"
            record: true
            pin: "5678"
        rooms: []
    """) == [
        "rooms.yaml:5: rooms[0].pin: duplicate key 'pin' (first at line 3)",
        "rooms.yaml:6: rooms: duplicate key 'rooms' (first at line 1)",
    ]


def test_keys_must_be_plain_names() -> None:
    assert (
        problem("""\
        rooms:
          - name: a
            pin: "1234"
            ? [x, y]
            : 1
    """)
        == "rooms.yaml:4: rooms[0]: keys must be plain names, got a list"
    )


def test_merge_keys_are_refused() -> None:
    assert (
        problem("""\
        rooms:
          - &base {name: a, pin: "1234"}
          - <<: *base
            name: b
            pin: "5678"
    """)
        == "rooms.yaml:3: rooms[1].<<: YAML merge keys are not supported here"
    )


def test_missing_required_keys_point_at_the_entry() -> None:
    assert problems("""\
        rooms:
          - name: a
            pin: "1234"
          - title: No name, no PIN
            record: true
        moderators:
          - username: u
    """) == [
        "rooms.yaml:4: rooms[1].name: required key 'name' is missing",
        "rooms.yaml:4: rooms[1].pin: required key 'pin' is missing",
        "rooms.yaml:7: moderators[0].password_hash: required key 'password_hash' is missing",
        "rooms.yaml:7: moderators[0].rooms: required key 'rooms' is missing",
    ]


# --- room fields ---------------------------------------------------------------------------


WHOLE = "must be a whole number from 2 to 10000"
SECONDS = "must be a whole number of seconds, 0 for no limit"
YES_NO = "must be true or false"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("max_participants: lots", f"max_participants: {WHOLE}, got 'lots'"),
        ("max_participants: 1", f"max_participants: {WHOLE}, got 1"),
        ("max_participants: 10001", f"max_participants: {WHOLE}, got 10001"),
        ("max_participants: 2.5", f"max_participants: {WHOLE}, got 2.5"),
        ("max_participants: true", f"max_participants: {WHOLE}, got true"),
        ("max_participants:", f"max_participants: {WHOLE}, got nothing"),
        ("muted_on_entry: 'yes'", f"muted_on_entry: {YES_NO}, got 'yes'"),
        ("record: 1", f"record: {YES_NO}, got 1"),
        ("announce_names: [true]", f"announce_names: {YES_NO}, got a list"),
        ("queue: lifo", "queue: must be fifo or progressive, got 'lifo'"),
        ("queue: FIFO", "queue: must be fifo or progressive, got 'FIFO'"),
        ("speaking_time_limit: -1", f"speaking_time_limit: {SECONDS}, got -1"),
        ("speaking_time_limit: 1m30s", f"speaking_time_limit: {SECONDS}, got '1m30s'"),
        ("title: 2024", "title: must be text, got 2024 (put it in quotes)"),
        ("title: {a: 1}", "title: must be text, got a mapping"),
        ("title: '  '", "title: must not be blank (leave it out to use the room name)"),
    ],
)
def test_room_field_types_and_ranges(line: str, expected: str) -> None:
    text = f'rooms:\n  - name: a\n    pin: "1234"\n    {line}\n'
    assert problem(text) == f"rooms.yaml:4: rooms[0].{expected}"


def test_speaking_time_limit_zero_means_none() -> None:
    config = parse('rooms:\n  - {name: a, pin: "1234", speaking_time_limit: 0}\n')
    assert config.rooms[0].speaking_time_limit == 0


@pytest.mark.parametrize("name", ["a", "9", "ga-national", "wg-2", "x" * 40, "a--b", "a-"])
def test_valid_room_names(name: str) -> None:
    assert parse(f'rooms:\n  - {{name: "{name}", pin: "1234"}}\n').rooms[0].name == name


@pytest.mark.parametrize(
    "name", ["GA", "-ga", "ga_national", "ga national", "x" * 41, "", "café", "ga.national"]
)
def test_invalid_room_names(name: str) -> None:
    shown = repr(name if len(name) <= 40 else name[:37] + "...")
    assert problem(f'rooms:\n  - name: "{name}"\n    pin: "1234"\n') == (
        "rooms.yaml:2: rooms[0].name: must be 1-40 characters of a-z, 0-9 and '-',"
        f" starting with a letter or digit, got {shown}"
    )


def test_room_name_must_be_text() -> None:
    assert problem("rooms:\n  - name: 2024\n    pin: '1234'\n") == (
        "rooms.yaml:2: rooms[0].name: must be a room name like 'ga-national', got 2024"
        " (put it in quotes)"
    )


@pytest.mark.parametrize("pin", ["0000", "1234", "123456789012", "000000000001"])
def test_valid_pins(pin: str) -> None:
    assert parse(f'rooms:\n  - {{name: a, pin: "{pin}"}}\n').rooms[0].pin == pin


@pytest.mark.parametrize(
    "pin", ["abc1", "123", "1234567890123", "12 34", " 1234", "12345\n", "١٢٣٤", "", "12-34"]
)
def test_invalid_pins_are_named(pin: str) -> None:
    text = f"rooms:\n  - name: a\n    pin: {json.dumps(pin)}\n"  # JSON strings are YAML too
    assert problem(text) == f"rooms.yaml:3: rooms[0].pin: must be 4-12 digits, got {pin!r}"


def test_invalid_moderator_pin_is_named() -> None:
    text = 'rooms:\n  - name: a\n    pin: "1234"\n    moderator_pin: "99"\n'
    assert problem(text) == "rooms.yaml:4: rooms[0].moderator_pin: must be 4-12 digits, got '99'"


def test_unquoted_pins_are_refused_with_a_fix() -> None:
    assert problems("""\
        rooms:
          - name: a
            pin: 424242
            moderator_pin: 0123
    """) == [
        'rooms.yaml:3: rooms[0].pin: write the PIN in quotes: pin: "424242"'
        " (unquoted, YAML reads it as a number, and numbers lose leading zeros)",
        'rooms.yaml:4: rooms[0].moderator_pin: write the PIN in quotes: moderator_pin: "0123"'
        " (unquoted, YAML reads 0123 as the number 83)",
    ]


def test_unquoted_pin_still_counts_for_duplicates() -> None:
    found = problems("""\
        rooms:
          - {name: a, pin: "424242"}
          - {name: b, pin: 424242}
    """)
    assert found == [
        'rooms.yaml:3: rooms[1].pin: write the PIN in quotes: pin: "424242"'
        " (unquoted, YAML reads it as a number, and numbers lose leading zeros)",
        "rooms.yaml:3: rooms[1].pin: duplicate PIN (already used by room 'a' at line 2)",
    ]


PIN_IN_QUOTES = 'must be a PIN of 4-12 digits in quotes, like "424242"'


@pytest.mark.parametrize(
    ("value", "got"),
    [
        ("0x1F", "0x1F (put it in quotes)"),  # an int to YAML, yet not digits
        ("1_234", "1_234 (put it in quotes)"),
        ("12.34", "12.34 (put it in quotes)"),
        ("yes", "yes (put it in quotes)"),
        ("", "nothing"),
    ],
)
def test_other_unquoted_pin_values(value: str, got: str) -> None:
    message = problem(f"rooms:\n  - name: a\n    pin: {value}\n")
    assert message == f"rooms.yaml:3: rooms[0].pin: {PIN_IN_QUOTES}, got {got}"


def test_duplicate_room_names() -> None:
    assert (
        problem("""\
        rooms:
          - name: ga-national
            pin: "1111"
          - name: wg
            pin: "2222"
          - name: ga-national
            pin: "3333"
    """)
        == "rooms.yaml:6: rooms[2].name: duplicate room name 'ga-national' (first at line 2)"
    )


def test_pins_are_unique_across_rooms_and_moderator_pins() -> None:
    assert problems("""\
        rooms:
          - name: ga-national
            title: National
            pin: "424242"
            moderator_pin: "919191"
          - name: wg
            pin: "5150"
            moderator_pin: "5150"
          - name: third
            pin: "919191"
          - name: fourth
            pin: "424242"
            moderator_pin: "5150"
    """) == [
        "rooms.yaml:8: rooms[1].moderator_pin: same as this room's pin (line 7);"
        " moderators need their own PIN",
        "rooms.yaml:10: rooms[2].pin: duplicate PIN (already used by room 'ga-national'"
        " as its moderator_pin at line 5)",
        "rooms.yaml:12: rooms[3].pin: duplicate PIN (already used by room 'ga-national' at line 4)",
        "rooms.yaml:13: rooms[3].moderator_pin: duplicate PIN (already used by room 'wg'"
        " at line 7)",
    ]


def test_duplicate_pin_of_a_room_with_an_invalid_name() -> None:
    assert (
        problems("""\
        rooms:
          - {name: Bad Name, pin: "1234"}
          - {name: ok, pin: "1234"}
    """)[1]
        == "rooms.yaml:3: rooms[1].pin: duplicate PIN (already used by rooms[0] at line 2)"
    )


# --- moderators ----------------------------------------------------------------------------


def moderators(block: str) -> str:
    """A file with two rooms (lines 1-3) and the given moderators from line 4."""
    return 'rooms:\n  - {name: ga-national, pin: "1111"}\n  - {name: wg, pin: "2222"}\n' + dedent(
        block
    )


def test_moderator_with_unknown_rooms() -> None:
    assert problems(
        moderators(f"""\
            moderators:
              - username: u
                password_hash: "{HASH}"
                rooms:
                  - wg
                  - ga-nationl
                  - nowhere
        """)
    ) == [
        "rooms.yaml:9: moderators[0].rooms: unknown room 'ga-nationl'; did you mean 'ga-national'?",
        "rooms.yaml:10: moderators[0].rooms: unknown room 'nowhere'",
    ]


def test_room_with_an_invalid_name_is_not_also_unknown() -> None:
    found = problems(f"""\
        rooms:
          - {{name: GA, pin: "1111"}}
        moderators:
          - {{username: u, password_hash: "{HASH}", rooms: [GA]}}
    """)
    assert len(found) == 1 and "rooms[0].name" in found[0]


def test_duplicate_usernames() -> None:
    assert (
        problem(
            moderators(f"""\
            moderators:
              - username: stackkeeper
                password_hash: "{HASH}"
                rooms: [wg]
              - username: other
                password_hash: "{HASH}"
                rooms: ["*"]
              - username: stackkeeper
                password_hash: "{HASH}"
                rooms: [ga-national]
        """)
        )
        == "rooms.yaml:11: moderators[2].username: duplicate username 'stackkeeper'"
        " (first at line 5)"
    )


@pytest.mark.parametrize("username", ["Stack", "stack keeper", "", "x" * 65, "é"])
def test_invalid_usernames(username: str) -> None:
    text = moderators(
        f'moderators:\n  - {{username: "{username}", password_hash: "{HASH}", rooms: [wg]}}\n'
    )
    message = problem(text)
    assert message.startswith("rooms.yaml:5: moderators[0].username: must be 1-64 characters")


@pytest.mark.parametrize(
    ("rooms", "expected"),
    [
        ("[]", 'must list at least one room, or ["*"] for every room'),
        ('["*", wg]', '"*" already means every room: list it alone'),
        ('"*"', "must be a list of room names, or [\"*\"] for every room, got '*'"),
        ("wg", "must be a list of room names, or [\"*\"] for every room, got 'wg'"),
        (
            "[wg, [x]]",
            "each entry must be a room name or {room: NAME, role: host|assistant}, got a list",
        ),
        (
            "[wg, 12]",
            "each entry must be a room name or {room: NAME, role: host|assistant}, got 12",
        ),
    ],
)
def test_moderator_room_lists(rooms: str, expected: str) -> None:
    text = moderators(
        f'moderators:\n  - username: u\n    password_hash: "{HASH}"\n    rooms: {rooms}\n'
    )
    assert problem(text) == f"rooms.yaml:7: moderators[0].rooms: {expected}"


SECRET = "hunter2-Do-Not-Echo"
HASH_MESSAGE = (
    "must be an argon2 hash like '$argon2id$v=19$m=65536,t=3,p=4$...', not a password"
    " (the value is not shown here; make one with: iobridge moderators hash-password)"
)


@pytest.mark.parametrize(
    "value",
    [
        SECRET,
        f'"{SECRET}"',
        f'"$argon2id${SECRET}"',
        f'"$argon2id$v=19$m=65536,t=3,p=4${SECRET}"',
        f'"$bcrypt$v=19$m=65536,t=3,p=4$abcd${SECRET}"',
        f'"{HASH} {SECRET}"',
        f"[{SECRET}]",
        "12345678",
        "",
    ],
)
def test_password_hash_must_be_argon2_and_is_never_echoed(value: str) -> None:
    text = moderators(
        f"moderators:\n  - username: u\n    password_hash: {value}\n    rooms: [wg]\n"
    )
    with pytest.raises(RoomsFileError) as info:
        parse_rooms_text(text, "rooms.yaml")
    assert [str(p) for p in info.value.problems] == [
        f"rooms.yaml:6: moderators[0].password_hash: {HASH_MESSAGE}"
    ]
    assert SECRET not in str(info.value) and SECRET not in repr(info.value.problems)
    assert "12345678" not in str(info.value)


def test_a_password_under_a_wrong_key_is_not_echoed() -> None:
    text = moderators(f"moderators:\n  - username: u\n    password: {SECRET}\n    rooms: [wg]\n")
    found = problems(text)
    assert found == [
        "rooms.yaml:5: moderators[0].password_hash: required key 'password_hash' is missing",
        "rooms.yaml:6: moderators[0].password: unknown key 'password' (expected one of: username,"
        " password_hash, rooms); did you mean 'password_hash'?",
    ]
    assert SECRET not in "\n".join(found)


def test_a_syntax_error_never_quotes_the_line() -> None:
    text = f'rooms:\n  - name: a\n    pin: "1234"\nmoderators:\n  - password_hash: "{SECRET}\n'
    message = problem(text)
    assert message.startswith("rooms.yaml:6: file: invalid YAML: found unexpected end of stream")
    assert SECRET not in message


@pytest.mark.parametrize("variant", ["argon2i", "argon2d", "argon2id"])
def test_all_argon2_variants_are_accepted(variant: str) -> None:
    kind = {"argon2i": argon2.Type.I, "argon2d": argon2.Type.D, "argon2id": argon2.Type.ID}
    hasher = argon2.PasswordHasher(
        time_cost=2, memory_cost=19 * 1024, parallelism=1, type=kind[variant]
    )
    password_hash = hasher.hash("x")
    text = moderators(
        f'moderators:\n  - {{username: u, password_hash: "{password_hash}", rooms: [wg]}}\n'
    )
    assert parse_rooms_text(text, "rooms.yaml").moderators[0].password_hash == password_hash


@pytest.mark.parametrize(
    ("memory_kib", "passes", "accepted"),
    [
        (8, 1, False),
        (19 * 1024 - 1, 2, False),  # under 19 MiB
        (19 * 1024, 1, False),  # one pass over 19 MiB
        (19 * 1024, 2, True),  # OWASP's minimum
        (46 * 1024, 1, True),  # OWASP's one-pass alternative
        (64 * 1024, 3, True),  # what hash-password makes
    ],
)
def test_weak_argon2_parameters_are_refused_without_echoing_the_hash(
    memory_kib: int, passes: int, accepted: bool
) -> None:
    hasher = argon2.PasswordHasher(time_cost=passes, memory_cost=memory_kib, parallelism=1)
    password_hash = hasher.hash("x")
    text = moderators(
        f'moderators:\n  - {{username: u, password_hash: "{password_hash}", rooms: [wg]}}\n'
    )
    if accepted:
        assert parse_rooms_text(text, "rooms.yaml").moderators[0].password_hash == password_hash
        return
    with pytest.raises(RoomsFileError) as info:
        parse_rooms_text(text, "rooms.yaml")
    assert [str(p) for p in info.value.problems] == [
        f"rooms.yaml:5: moderators[0].password_hash: argon2 parameters too weak (memory "
        f"{memory_kib} KiB, time cost {passes}): OWASP's minimum is 19456 KiB (19 MiB) with "
        "time cost 2; make a new hash with: iobridge moderators hash-password"
    ]
    salt_and_hash = password_hash.rsplit("$", 2)[-2:]
    assert not any(part in str(info.value) for part in salt_and_hash)


def test_a_title_longer_than_the_database_keeps_is_refused_with_its_line() -> None:
    text = f'rooms:\n  - name: ga\n    pin: "424242"\n    title: "{"x" * 201}"\n'
    assert problems(text) == [
        "rooms.yaml:4: rooms[0].title: must be at most 200 characters, got 201"
    ]
    ok = f'rooms:\n  - name: ga\n    pin: "424242"\n    title: "{"x" * 200}"\n'
    assert parse_rooms_text(ok, "rooms.yaml").rooms[0].title == "x" * 200


def test_a_pin_shorter_than_six_digits_is_a_warning_with_its_line_not_a_problem() -> None:
    text = 'rooms:\n  - name: ga\n    pin: "4242"\n    moderator_pin: "919191"\n'
    warnings: list[Problem] = []
    config = parse_rooms_text(text, "rooms.yaml", warnings)
    assert [room.name for room in config.rooms] == ["ga"]
    assert [w.as_warning() for w in warnings] == [
        "rooms.yaml:3: rooms[0].pin: warning: a PIN of 4 digits is found in about 3 hours by "
        "100 callers guessing from different addresses (6 digits: about 11 days); use 6 digits "
        "or more"
    ]
    assert "4242" not in warnings[0].as_warning()


def test_with_a_trunk_or_ipv6_a_pin_shorter_than_eight_digits_is_refused_with_its_line() -> None:
    text = 'rooms:\n  - name: ga\n    pin: "424242"\n    moderator_pin: "91919191"\n'
    reason = "a trunk is configured (carrier in pjsip.conf)"
    with pytest.raises(RoomsFileError) as info:
        parse_rooms_text(text, "rooms.yaml", long_pins=reason)
    assert [str(p) for p in info.value.problems] == [
        "rooms.yaml:3: rooms[0].pin: must be at least 8 digits, got 6: a trunk is configured "
        '(carrier in pjsip.conf), so guessing is faster (docs/admin.md, "Guessing a PIN")'
    ]
    assert parse_rooms_text(text, "rooms.yaml").rooms[0].pin == "424242"  # without either


# --- YAML itself ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rooms:\n  - name: a\n\tpin: '1234'\n",
            "rooms.yaml:3: file: invalid YAML: found character '\\t' that cannot start any token"
            " (while scanning for the next token); indent with spaces, not tabs",
        ),
        (
            "rooms:\n  - name: a\n    pin: '1234\n",
            "rooms.yaml:4: file: invalid YAML: found unexpected end of stream"
            " (while scanning a quoted scalar at line 3)",
        ),
        (
            "rooms:\n  - name: a\n   pin: '1234'\n",
            "rooms.yaml:3: file: invalid YAML: expected <block end>,"
            " but found '<block mapping start>' (while parsing a block collection at line 2)",
        ),
        (
            "rooms: []\n---\nrooms: []\n",
            "rooms.yaml:2: file: invalid YAML: expected a single document in the stream,"
            " but found another document",
        ),
        ("rooms: *nowhere\n", "rooms.yaml:1: file: invalid YAML: found undefined alias 'nowhere'"),
        ("a: b\nc\n", "rooms.yaml:3: file: invalid YAML: could not find expected ':'"),
        ("a: b\n\x00\n", "rooms.yaml:2: file: character 0x0000 is not allowed in YAML"),
        ("[" * 3000, "rooms.yaml:1: file: YAML nested too deeply"),
    ],
)
def test_yaml_errors_carry_their_line(text: str, expected: str) -> None:
    assert problem(text).startswith(expected)


def test_unreadable_tagged_values_are_reported_once() -> None:
    assert problems("""\
        rooms:
          - name: a
            pin: !!int abcd
            max_participants: !!float many
            title: !vault abc
    """) == [
        "rooms.yaml:3: rooms[0].pin: cannot read this value as YAML tag '!!int'",
        "rooms.yaml:4: rooms[0].max_participants: cannot read this value as YAML tag '!!float'",
        "rooms.yaml:5: rooms[0].title: cannot read this value as YAML tag '!vault'",
    ]


def test_self_referencing_aliases() -> None:
    assert problem("rooms: &r [*r]\n") == (
        "rooms.yaml:1: rooms[0]: must be a mapping of settings, got a list"
    )
    message = problem("rooms:\n  - &a {name: a, pin: '1234', record: *a}\n")
    assert message == "rooms.yaml:2: rooms[0].record: must be true or false, got a mapping"


# --- the file on disk ----------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(RoomsFileError) as info:
        load_rooms_file(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:0: file: cannot read the file: No such file or directory"
    ]


def test_a_directory_is_not_a_rooms_file(tmp_path: Path) -> None:
    with pytest.raises(RoomsFileError) as info:
        load_rooms_file(tmp_path)
    (found,) = info.value.problems
    assert (found.line, found.field) == (0, "file")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "rooms.yaml"
    path.write_bytes(b"rooms:\n  - name: a\n\xff\xfe\x00garbage")
    with pytest.raises(RoomsFileError) as info:
        load_rooms_file(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:3: file: not UTF-8 text (byte 0xff); save the file as UTF-8"
    ]


def test_all_problems_are_reported_at_once_in_line_order(tmp_path: Path) -> None:
    path = tmp_path / "rooms.yaml"
    path.write_text(
        dedent(f"""\
            rooms:
              - name: ga-national
                pin: "424242"
                moderator_pin: "919191"
                queue: progressive
              - name: wg
                pin: "4242"
                recrod: true
              - name: ga-national
                pin: "abc1"
                moderator_pin: "424242"
            moderators:
              - username: stackkeeper
                password_hash: "{HASH}"
                rooms: [ga-national, nowhere]
              - username: stackkeeper
                password_hash: plain-password
                rooms: ["*"]
        """)
    )
    with pytest.raises(RoomsFileError) as info:
        load_rooms_file(path)
    lines = str(info.value).splitlines()
    assert [line.removeprefix(f"{path}:") for line in lines] == [
        f"8: rooms[1].recrod: unknown key 'recrod' (expected one of: {ROOM_KEYS});"
        " did you mean 'record'?",
        "9: rooms[2].name: duplicate room name 'ga-national' (first at line 2)",
        "10: rooms[2].pin: must be 4-12 digits, got 'abc1'",
        "11: rooms[2].moderator_pin: duplicate PIN (already used by room 'ga-national' at line 3)",
        "15: moderators[0].rooms: unknown room 'nowhere'",
        "16: moderators[1].username: duplicate username 'stackkeeper' (first at line 13)",
        f"17: moderators[1].password_hash: {HASH_MESSAGE}",
    ]
    assert "plain-password" not in str(info.value)


# --- properties ----------------------------------------------------------------------------

YAMLISH_PIECE = st.sampled_from(
        [
            "rooms:", "moderators:", "\n", "\n  ", "\n    ", "- ", "  - ", "name: ", "pin: ",
            "moderator_pin: ", "title: ", "queue: ", "max_participants: ", "record: ",
            "username: ", "password_hash: ", "rooms: ", ": ", "[", "]", "{", "}", ",", "&a ",
            "*a", "!!int ", "!!str ", "!!binary ", "!!timestamp ", "!!set ", "!x ", "<<: ",
            "? ", "~", "null", "yes", "0123", '"424242"', "'", '"', "#", "|", ">", "---",
            "...", "\t", "%YAML 1.1\n", "ga-national", "*", "-1", "1e3", "2024-01-01",
            "$argon2id$v=19$m=65536,t=3,p=4$abc$def", HASH,
        ]
    ) | st.text(max_size=4)  # fmt: skip
YAMLISH = st.lists(YAMLISH_PIECE, max_size=40).map("".join)


def check_problems(error: RoomsFileError, text: str) -> None:
    assert error.problems
    last_line = len(text.splitlines()) + 1  # YAML also breaks lines at \r, \x85, \u2028
    for found in error.problems:
        assert isinstance(found, Problem)
        assert 1 <= found.line <= last_line, (found, text)
        assert found.field and found.message
        assert str(found).startswith(f"rooms.yaml:{found.line}: ")


@settings(max_examples=400, deadline=None)
@given(YAMLISH)
def test_random_yamlish_text_only_ever_raises_rooms_file_error(text: str) -> None:
    try:
        config = parse_rooms_text(text, "rooms.yaml")
    except RoomsFileError as error:
        check_problems(error, text)
    else:
        assert isinstance(config, RoomsConfig) and config.rooms


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_random_text_only_ever_raises_rooms_file_error(text: str) -> None:
    try:
        parse_rooms_text(text, "rooms.yaml")
    except RoomsFileError as error:
        check_problems(error, text)


EXAMPLE = (ROOT / "examples" / "rooms.yaml").read_text()


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_example_file_only_ever_raises_rooms_file_error(data: st.DataObject) -> None:
    text = EXAMPLE
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 12)))
        text = text[:start] + data.draw(YAMLISH_PIECE | st.just("")) + text[end:]
    try:
        parse_rooms_text(text, "rooms.yaml")
    except RoomsFileError as error:
        check_problems(error, text)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary())
def test_random_bytes_on_disk_only_ever_raise_rooms_file_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "rooms.yaml"
    path.write_bytes(data)
    try:
        load_rooms_file(path)
    except RoomsFileError as error:
        assert error.problems and all(p.file == str(path) for p in error.problems)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ23456789$=,+/", min_size=10, max_size=30))
def test_a_rejected_password_hash_is_never_echoed(secret: str) -> None:
    text = moderators(
        f"moderators:\n  - username: u\n    password_hash: '{secret}'\n    rooms: [wg]\n"
    )
    try:
        parse_rooms_text(text, "rooms.yaml")
    except RoomsFileError as error:
        assert secret not in str(error)


NAMES = st.from_regex(r"[a-z0-9][a-z0-9-]{0,39}", fullmatch=True)
PINS = st.from_regex(r"[0-9]{4,12}", fullmatch=True)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(NAMES, PINS),
        min_size=1,
        max_size=5,
        unique_by=(lambda room: room[0], lambda room: room[1]),
    )
)
def test_valid_rooms_round_trip(rooms: list[tuple[str, str]]) -> None:
    text = "rooms:\n" + "".join(f'  - name: "{name}"\n    pin: "{pin}"\n' for name, pin in rooms)
    config = parse_rooms_text(text, "rooms.yaml")
    assert [(r.name, r.pin) for r in config.rooms] == rooms


def test_a_room_may_allow_a_venues_networks_each_checked_with_its_line() -> None:
    text = dedent(
        """\
        rooms:
          - name: ga
            pin: "424242"
            allow_sources: ["198.51.100.7/24", "2001:db8:5::/48"]
          - name: hall
            pin: "535353"
            allow_sources: ["venue-wifi", "10.0.0.0/8"]
        """
    )
    assert problems(text) == [
        "rooms.yaml:7: rooms[1].allow_sources: not a network: 'venue-wifi' (expected e.g. "
        "198.51.100.0/24)",
    ]
    wide = text.replace('"venue-wifi", ', "")
    assert problems(wide) == [
        "rooms.yaml:7: rooms[1].allow_sources: '10.0.0.0/8' is too wide to allow: at most a "
        "/24 (a venue's addresses)",
    ]
    ok = parse_rooms_text(wide.replace('"10.0.0.0/8"', '"203.0.113.0/28"'), "rooms.yaml")
    assert ok.rooms[0].allow_sources == ("198.51.100.0/24", "2001:db8:5::/48")
    assert ok.rooms[1].allow_sources == ("203.0.113.0/28",)


def test_breakout_latecomers_is_smallest_or_main_and_says_so() -> None:
    rooms = parse('rooms:\n  - {name: ga, pin: "424242", breakout_latecomers: main}\n').rooms
    assert rooms[0].breakout_latecomers == "main"
    assert parse('rooms:\n  - {name: ga, pin: "424242"}\n').rooms[0].breakout_latecomers == (
        "smallest"
    )
    message = problem('rooms:\n  - {name: ga, pin: "424242", breakout_latecomers: last}\n')
    assert message.startswith("rooms.yaml:2: rooms[0].breakout_latecomers: must be smallest")


def test_announcing_names_in_a_big_room_warns_that_bursts_are_counted_naming_its_line() -> None:
    text = (
        'rooms:\n  - name: ga\n    pin: "424242"\n    max_participants: 300\n'
        "    announce_names: true\n"
        '  - name: wg\n    pin: "515151"\n    max_participants: 25\n    announce_names: true\n'
        '  - name: big\n    pin: "616161"\n    ask_name: true\n'
    )
    warnings: list[Problem] = []
    config = parse_rooms_text(text, "rooms.yaml", warnings)
    assert [room.announce_names for room in config.rooms] == [True, True, False]
    assert config.rooms[2].ask_name
    assert [w.as_warning() for w in warnings] == [
        "rooms.yaml:5: rooms[0].announce_names: warning: names are played to the whole room"
        " one at a time, about 5 s each, only while at most 3 wait and none has waited 20 s;"
        " more callers than that joining or leaving together (a room of 300 filling up) are"
        " heard as a count ('joined the call: 12'), not by name; to know every caller by name"
        " use ask_name (moderators play names on demand)"
    ]
