"""Rooms' titles as prompts Asterisk plays to callers called in (``bridge.domain.room_titles``
decides when one is made again): spoken by espeak-ng in the room's language and resampled
by sox to 8 kHz mono 16-bit WAV, as scripts/make-prompts renders io-bridge's own prompts,
or the admin's recording copied as it is (the rooms file checked it).

They live in the recordings folder's ``titles/`` (``ROOM.wav``, and ``ROOM.stamp``: what
it was made from), beside alerts' messages and for the same reason: the one folder both
users reach when Asterisk runs as a user of its own (docs/admin.md "Two users"); written
readable by Asterisk's user (0644, the folder 0755). Made when rooms are synced and when
the service starts; a room without one offers "a conference call" instead.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from bridge.domain.languages import LANGUAGES
from bridge.domain.room_titles import TitleAction, TitleSource, title_action
from bridge.domain.rooms import RoomSpec

log = logging.getLogger(__name__)

TITLES = "titles"  # in the recordings folder
TOOLS = ("espeak-ng", "sox")
TOOL_SECONDS = 30.0
# sox's effects, as scripts/make-prompts: no silence either end, a steady level.
TRIM_AND_LEVEL = ["silence", "1", "0.01", "0.5%", "reverse", "silence", "1", "0.01", "0.5%"]
TRIM_AND_LEVEL += ["reverse", "norm", "-3", "pad", "0", "0.1"]


class TitleNotMade(Exception):
    """espeak-ng or sox failed on a title; the message says which and why."""


def missing_synthesizer() -> str | None:
    """Why titles cannot be spoken here, or None when espeak-ng and sox are installed."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return None
    return (
        f'{" and ".join(missing)} not installed: callers called in hear "a conference call" '
        f"instead of their room's title (install Debian's packages: apt-get install "
        f"{' '.join(missing)})"
    )


def title_prompt(recordings_dir: Path, room: str) -> Path | None:
    """The room's title prompt as Asterisk names a sound (no ``.wav``), or None."""
    path = recordings_dir / TITLES / room
    return path if path.with_suffix(".wav").is_file() else None


def make_title_prompts(
    recordings_dir: Path,
    rooms: Iterable[RoomSpec],
    recordings: Mapping[str, Path] | None,
) -> list[str]:
    """Make each room's title prompt where it is missing or says something else; one line
    per prompt made or removed. ``recordings``: the rooms file's ``title_recording:`` by
    room (a sync); None when the file is not read (the service's start), so recordings
    already installed stay."""
    folder = _folder(recordings_dir)
    can_speak = missing_synthesizer() is None
    done = []
    for room in rooms:
        recording = (recordings or {}).get(room.name)
        digest = hashlib.sha256(recording.read_bytes()).hexdigest() if recording else None
        wanted = TitleSource(room.name, room.title, room.language, digest)
        stamp_file = folder / f"{room.name}.stamp"
        made_from = stamp_file.read_text().strip() if stamp_file.is_file() else None
        action = title_action(
            wanted, made_from, recordings_known=recordings is not None, can_speak=can_speak
        )
        target = folder / f"{room.name}.wav"
        try:
            if action is TitleAction.SPEAK:
                _write(target, _spoken(room.title, room.language, folder))
                done.append(f"room {room.name}: title prompt spoken ({room.language})")
            elif action is TitleAction.COPY and recording is not None:
                _write(target, recording.read_bytes())
                done.append(f"room {room.name}: title recording installed ({recording})")
            elif action is TitleAction.REMOVE:
                target.unlink(missing_ok=True)
                stamp_file.unlink(missing_ok=True)
                done.append(f"room {room.name}: old title prompt removed ({missing_synthesizer()})")
            if action in (TitleAction.SPEAK, TitleAction.COPY):
                _write(stamp_file, f"{wanted.stamp}\n".encode())
        except TitleNotMade as exc:
            target.unlink(missing_ok=True)
            stamp_file.unlink(missing_ok=True)
            log.warning("titles.not_made room=%s detail=%s", room.name, exc)
            done.append(f"room {room.name}: title prompt not made: {exc}")
    return done


def _spoken(title: str, language: str, folder: Path) -> bytes:
    """``title`` spoken in ``language``, as 8 kHz mono 16-bit WAV."""
    voice = LANGUAGES[language].speech
    with tempfile.TemporaryDirectory(dir=folder) as work:
        text, spoken, resampled = (Path(work) / n for n in ("title.txt", "22k.wav", "8k.wav"))
        text.write_text(title)  # a file, never argv: a title may start with '-'
        _tool(["espeak-ng", "-v", voice, "-s", "170", "-f", str(text), "-w", str(spoken)])
        _tool(["sox", str(spoken), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
               str(resampled), *TRIM_AND_LEVEL])  # fmt: skip
        return resampled.read_bytes()


def _tool(command: list[str]) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=TOOL_SECONDS)
    except FileNotFoundError:
        raise TitleNotMade(f"{command[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise TitleNotMade(f"{command[0]} took over {TOOL_SECONDS:.0f} s") from None
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise TitleNotMade(f"{command[0]} failed: {detail[0]}") from None


def _folder(recordings_dir: Path) -> Path:
    folder = recordings_dir / TITLES
    setgid = recordings_dir.exists() and recordings_dir.stat().st_mode & stat.S_ISGID
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755 | (stat.S_ISGID if setgid else 0))
    return folder


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: Asterisk may be playing the old one."""
    descriptor, staging = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=path.suffix)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.chmod(staging, 0o644)  # whatever the umask: Asterisk's user reads it as "other"
    os.replace(staging, path)
