"""The rooms file's ``cues:``: each names an 8 kHz mono 16-bit WAV file that exists; every
problem is one ``FILE:LINE: field: message`` line, and a bad cue refuses the whole file."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from bridge.roomsfile import RoomsFileError, load_rooms_file

ROOMS = """\
rooms:
  - name: ga
    pin: "424242"
cues:
"""


def a_wav(path: Path, rate: int = 8000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(channels)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(b"\0\0" * (channels * rate // 10))
    return path


def problems_of(folder: Path, cues: str) -> list[str]:
    rooms = folder / "rooms.yaml"
    rooms.write_text(ROOMS + cues)
    with pytest.raises(RoomsFileError) as caught:
        load_rooms_file(rooms)
    return [str(p).removeprefix(f"{rooms}:") for p in caught.value.problems]


def test_a_cue_beside_the_rooms_file_is_read_with_its_absolute_path(tmp_path: Path) -> None:
    a_wav(tmp_path / "gong.wav")
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(ROOMS + "  - name: gong\n    file: gong.wav\n")
    config = load_rooms_file(rooms)
    assert [(c.name, c.file) for c in config.cues] == [("gong", str(tmp_path / "gong.wav"))]
    assert config.summary() == "1 room, 0 moderators, 1 cue"


def test_a_missing_file_is_named_with_its_line(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "  - name: gong\n    file: gong.wav\n") == [
        f"6: cues[0].file: {tmp_path / 'gong.wav'}: no such file"
    ]


def test_a_wav_at_44_khz_in_stereo_is_refused_with_how_to_convert_it(tmp_path: Path) -> None:
    a_wav(tmp_path / "gong.wav", rate=44100, channels=2)
    (found,) = problems_of(tmp_path, "  - name: gong\n    file: gong.wav\n")
    assert "must be 8000 Hz, mono, 16-bit, got 44100 Hz, 2 channel(s), 16-bit" in found
    assert "sox IN.wav -r 8000 -c 1 -b 16 OUT.wav" in found


def test_a_file_that_is_not_a_wav_is_refused(tmp_path: Path) -> None:
    (tmp_path / "gong.wav").write_text("not a sound")
    (found,) = problems_of(tmp_path, "  - name: gong\n    file: gong.wav\n")
    assert found.startswith("6: cues[0].file:") and "not a WAV file" in found


def test_names_must_be_new_slugs_and_unique(tmp_path: Path) -> None:
    a_wav(tmp_path / "a.wav")
    found = problems_of(
        tmp_path,
        "  - name: chime\n    file: a.wav\n"
        "  - name: Gong!\n    file: a.wav\n"
        "  - name: gong\n    file: a.wav\n"
        "  - name: gong\n    file: a.wav\n",
    )
    assert found == [
        "5: cues[0].name: 'chime' is a built-in cue; choose another name",
        "7: cues[1].name: must be a cue name like 'gong' (a-z, 0-9, '-'), got 'Gong!'",
        "11: cues[3].name: duplicate cue name 'gong' (first at line 9)",
    ]


def test_unknown_keys_in_a_cue_are_named(tmp_path: Path) -> None:
    a_wav(tmp_path / "a.wav")
    (found,) = problems_of(tmp_path, "  - name: gong\n    file: a.wav\n    loud: true\n")
    assert found.startswith("7: cues[0].loud: unknown key 'loud' (expected one of: name, file)")


# ---- a room's title_recording: the same checks, on the room's line -------------------------

TITLED = """\
rooms:
  - name: ga
    title: General assembly
    pin: "424242"
    title_recording: {file}
"""


def test_a_title_recording_is_kept_by_room_with_its_absolute_path(tmp_path: Path) -> None:
    a_wav(tmp_path / "ga-title.wav")
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(TITLED.format(file="ga-title.wav"))
    config = load_rooms_file(rooms)
    assert config.title_recordings == (("ga", str(tmp_path / "ga-title.wav")),)
    assert config.rooms[0].title == "General assembly"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (None, "no such file"),
        (lambda p: a_wav(p, rate=16000), "must be 8000 Hz, mono, 16-bit, got 16000 Hz"),
        (lambda p: a_wav(p, channels=2), "2 channel(s)"),
        (lambda p: p.write_bytes(b"not a wav"), "not a WAV file Asterisk can play"),
    ],
)
def test_a_bad_title_recording_is_named_with_its_line(
    tmp_path: Path, make: object, expected: str
) -> None:
    path = tmp_path / "ga-title.wav"
    if callable(make):
        make(path)
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(TITLED.format(file="ga-title.wav"))
    with pytest.raises(RoomsFileError) as caught:
        load_rooms_file(rooms)
    (problem,) = [str(p) for p in caught.value.problems]
    assert problem.startswith(f"{rooms}:5: rooms[0].title_recording: {path}: ")
    assert expected in problem
