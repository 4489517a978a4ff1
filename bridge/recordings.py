"""Recordings on disk: ROOM-YYYYmmdd-HHMMSS.wav files in the recordings folder."""

from __future__ import annotations

import contextlib
import wave
from dataclasses import dataclass
from pathlib import Path

WAV_HEADER = 44


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
