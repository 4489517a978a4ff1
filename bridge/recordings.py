"""Recordings on disk: ROOM-YYYYmmdd-HHMMSS.wav files in the recordings folder."""

from __future__ import annotations

import contextlib
import re
import wave
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

WAV_HEADER = 44
STAMP_FORMAT = "%Y%m%d-%H%M%S"  # the bridge's local time when the recording started
_NAME = re.compile(r"(?P<room>[a-z0-9][a-z0-9-]*)-(?P<stamp>[0-9]{8}-[0-9]{6})\.wav")


@dataclass(frozen=True)
class Recording:
    path: Path
    size: int
    duration: float  # seconds


def wav_duration(path: Path) -> float:
    """Duration from the WAV header; from the size while Asterisk still writes the file
    (it fixes the header up only when the recording stops)."""
    with contextlib.suppress(wave.Error, EOFError, OSError), wave.open(str(path), "rb") as wav:
        frames, rate = wav.getnframes(), wav.getframerate()
        if frames > 0 and rate > 0:
            return frames / rate
        bytes_per_second = rate * wav.getsampwidth() * wav.getnchannels()
        if bytes_per_second > 0:
            return max(0, path.stat().st_size - WAV_HEADER) / bytes_per_second
    return 0.0


def list_recordings(folder: Path) -> list[Recording]:
    if not folder.is_dir():
        return []
    return [
        Recording(path, path.stat().st_size, wav_duration(path))
        for path in sorted(folder.glob("*.wav"))
    ]


def recording_name(room: str, at: datetime) -> str:
    return f"{room}-{at.strftime(STAMP_FORMAT)}.wav"


def recording_room(name: str) -> str | None:
    """The room a recording's file name says it is of; None when it is not a recording's
    name (nothing else in the folder is ever served)."""
    found = _NAME.fullmatch(name)
    return found["room"] if found else None


def recording_started_at(room: str, name: str) -> datetime | None:
    """When the recording ``name`` of ``room`` started (aware), or None when the name is
    not one of that room's recordings (room "ga" does not claim "ga-2-...")."""
    found = _NAME.fullmatch(name)
    if found is None or found["room"] != room:
        return None
    try:
        return datetime.strptime(found["stamp"], STAMP_FORMAT).astimezone()
    except ValueError:
        return None
