"""Rooms' title prompts on disk (bridge.asterisk.title_prompts), made with Debian's real
espeak-ng and sox: 8 kHz mono 16-bit WAV that Asterisk plays as it is, made again only when
the title or language changes, an admin's recording installed instead, and the generic words
(no prompt) when the synthesizer is missing."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import pytest

from bridge.asterisk import title_prompts
from bridge.asterisk.title_prompts import make_title_prompts, missing_synthesizer, title_prompt
from bridge.domain.rooms import RoomSpec

pytestmark = pytest.mark.skipif(
    missing_synthesizer() is not None, reason="espeak-ng and sox (Debian's packages) needed"
)
ROOM = RoomSpec(name="assembly", title="The general assembly", pin="424242")


def format_of(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as sound:
        rate, frames = sound.getframerate(), sound.getnframes()
        return rate, sound.getnchannels(), sound.getsampwidth(), frames / rate


def test_a_title_is_spoken_once_as_8_khz_mono_wav_readable_by_asterisks_user(
    tmp_path: Path,
) -> None:
    assert make_title_prompts(tmp_path, [ROOM], {}) == ["room assembly: title prompt spoken (en)"]
    prompt = title_prompt(tmp_path, "assembly")
    assert prompt == tmp_path / "titles" / "assembly"
    wav = prompt.with_suffix(".wav")
    rate, channels, width, seconds = format_of(wav)
    assert (rate, channels, width) == (8000, 1, 2) and 0.5 < seconds < 5
    assert wav.stat().st_mode & 0o777 == 0o644
    before = wav.stat().st_mtime_ns
    assert make_title_prompts(tmp_path, [ROOM], {}) == []  # unchanged: not made again
    assert make_title_prompts(tmp_path, [ROOM], None) == []
    assert wav.stat().st_mtime_ns == before


def test_a_new_title_or_language_is_spoken_again(tmp_path: Path) -> None:
    make_title_prompts(tmp_path, [ROOM], {})
    first = (tmp_path / "titles" / "assembly.wav").read_bytes()
    retitled = RoomSpec(name="assembly", title="Asamblea general", pin="424242", language="es")
    assert make_title_prompts(tmp_path, [retitled], None) == [
        "room assembly: title prompt spoken (es)"
    ]
    assert (tmp_path / "titles" / "assembly.wav").read_bytes() != first


def test_a_recording_is_installed_kept_at_start_and_dropped_when_the_file_drops_it(
    tmp_path: Path,
) -> None:
    recording = tmp_path / "mine.wav"
    with wave.open(str(recording), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\1\0" * 8000)
    folder = tmp_path / "recordings"
    (line,) = make_title_prompts(folder, [ROOM], {"assembly": recording})
    assert line.startswith("room assembly: title recording installed")
    installed = folder / "titles" / "assembly.wav"
    assert installed.read_bytes() == recording.read_bytes()
    assert make_title_prompts(folder, [ROOM], None) == []  # the start keeps it
    assert installed.read_bytes() == recording.read_bytes()
    assert make_title_prompts(folder, [ROOM], {}) == ["room assembly: title prompt spoken (en)"]
    assert installed.read_bytes() != recording.read_bytes()


def test_without_espeak_ng_no_prompt_is_made_and_a_stale_one_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_title_prompts(tmp_path, [ROOM], {})
    real_which = shutil.which
    monkeypatch.setattr(
        title_prompts.shutil,
        "which",
        lambda tool: None if tool == "espeak-ng" else real_which(tool),
    )
    assert "espeak-ng not installed" in (missing_synthesizer() or "")
    assert make_title_prompts(tmp_path, [ROOM], {}) == []  # what is there still says it
    retitled = RoomSpec(name="assembly", title="Another", pin="424242")
    (line,) = make_title_prompts(tmp_path, [retitled], {})
    assert line.startswith("room assembly: old title prompt removed (espeak-ng not installed")
    assert title_prompt(tmp_path, "assembly") is None
    other = RoomSpec(name="other", title="Other", pin="434343")
    assert make_title_prompts(tmp_path, [other], {}) == []
    assert title_prompt(tmp_path, "other") is None
