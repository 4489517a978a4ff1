"""The rooms file's ``cues:``: the admins' own sounds for moderators to play to a room.

Each entry names a WAV file (a path relative to the rooms file, or absolute) that Asterisk
plays as it is: 8 kHz, mono, 16-bit PCM. The file is read here, when the rooms file is
checked, so a wrong one is a ``FILE:LINE`` problem and never a silent room at play time.
"""

from __future__ import annotations

import wave
from pathlib import Path

from pydantic import BaseModel, ConfigDict, StrictStr, field_validator

from bridge.domain.cues import BUILT_IN, NAME, Cue

EXPECTED = {
    "name": "a cue name like 'gong' (a-z, 0-9, '-')",
    "file": "the path of an 8 kHz mono WAV file",
}
# Characters that would break the dialplan's arguments, or Asterisk's file name rules.
_UNSAFE = set(",|;&\"'`$\\{}()\n\r\t ")


class CueEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr
    file: StrictStr

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.fullmatch(value):
            raise ValueError(f"must be {EXPECTED['name']}, got '{value}'")
        if value in BUILT_IN:
            raise ValueError(f"'{value}' is a built-in cue; choose another name")
        return value


def wav_problem(path: Path) -> str | None:
    """Why Asterisk could not play ``path`` as a cue; None when it can."""
    if path.suffix != ".wav":
        return f"{path}: must be a .wav file"
    if _UNSAFE & set(str(path)):
        return f"{path}: the path may not hold spaces, quotes or any of , | ; & $ ( ) {{ }}"
    try:
        with wave.open(str(path), "rb") as sound:
            rate, channels, width = sound.getframerate(), sound.getnchannels(), sound.getsampwidth()
    except FileNotFoundError:
        return f"{path}: no such file"
    except (OSError, EOFError, wave.Error) as exc:
        return f"{path}: not a WAV file Asterisk can play ({exc})"
    if (rate, channels, width) != (8000, 1, 2):
        got = f"{rate} Hz, {channels} channel(s), {8 * width}-bit"
        return (
            f"{path}: must be 8000 Hz, mono, 16-bit, got {got} "
            f"(convert it with: sox IN.wav -r 8000 -c 1 -b 16 OUT.wav)"
        )
    return None


def cue_of(entry: CueEntry, rooms_file: str) -> Cue:
    """The cue with its file as an absolute path (relative to the rooms file's folder)."""
    return Cue(entry.name, str(resolve(entry.file, rooms_file)))


def resolve(file: str, rooms_file: str) -> Path:
    path = Path(file).expanduser()
    return path if path.is_absolute() else (Path(rooms_file).parent / path).absolute()
