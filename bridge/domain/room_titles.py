"""A room's title as callers called in hear it ("you are being called into <title>, press
1 to join"): spoken by the speech synthesizer in the room's language, or the admin's own
recording (the rooms file's ``title_recording:``). No I/O: the file's maker is told what
the prompt on disk was made from (its stamp) and decides whether to make it again.

A prompt is made again only when what it says changes: the title, the language, or the
recording's contents. The service's start knows the rooms' titles but not the rooms file's
recordings (only ``rooms sync`` reads the file), so there an installed recording is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TitleAction(StrEnum):
    KEEP = "keep"  # the prompt on disk says what is wanted
    SPEAK = "speak"  # synthesize the title
    COPY = "copy"  # install the admin's recording
    REMOVE = "remove"  # a stale prompt and no synthesizer: callers hear the generic words


@dataclass(frozen=True)
class TitleSource:
    """What a room's title prompt is to be made from. ``recording``: the digest of the
    admin's recording (None: the title is synthesized)."""

    room: str
    title: str
    language: str
    recording: str | None = None

    @property
    def stamp(self) -> str:
        """One line kept beside the prompt: what it was made from."""
        if self.recording is not None:
            return f"recording {self.recording}"
        return f"speech {self.language} {' '.join(self.title.split())}"


def is_recording(stamp: str | None) -> bool:
    return stamp is not None and stamp.startswith("recording ")


def title_action(
    wanted: TitleSource,
    made_from: str | None,
    *,
    recordings_known: bool,
    can_speak: bool,
) -> TitleAction:
    """What to do with ``wanted.room``'s prompt, made from ``made_from`` (its stamp; None:
    there is none). ``recordings_known``: ``wanted`` comes from the rooms file (a sync), so
    a room without ``title_recording`` has none; otherwise (the service's start) a recording
    on disk is the file's and stays. ``can_speak``: the synthesizer is installed."""
    if made_from == wanted.stamp:
        return TitleAction.KEEP
    if wanted.recording is not None:
        return TitleAction.COPY
    if is_recording(made_from) and not recordings_known:
        return TitleAction.KEEP
    if can_speak:
        return TitleAction.SPEAK
    return TitleAction.REMOVE if made_from is not None else TitleAction.KEEP
