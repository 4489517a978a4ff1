"""Cues: short sounds a moderator plays to a whole room (``iobridge room ROOM play CUE``).

Four are built in, from io-bridge's own prompts (asterisk-config/sounds/); admins add
their own 8 kHz mono WAV files in the rooms file (``cues:``). A cue plays once, except
hold music, which plays until another cue is played or the room empties: playing any cue
stops the one still playing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME = re.compile("[a-z0-9][a-z0-9-]{0,39}")
HOLD_MUSIC = "hold-music"


@dataclass(frozen=True)
class Cue:
    name: str
    file: str  # built in: a prompt's name (no extension); the admin's: an absolute .wav path
    built_in: bool = False

    @property
    def loops(self) -> bool:
        return self.name == HOLD_MUSIC


BUILT_IN: dict[str, Cue] = {
    cue.name: cue
    for cue in (
        Cue("chime", "cue-chime", built_in=True),
        Cue("two-minutes", "cue-two-minutes", built_in=True),
        Cue("starting", "cue-starting", built_in=True),
        Cue(HOLD_MUSIC, "cue-hold-music", built_in=True),
    )
}


def find_cue(name: str, own: dict[str, Cue]) -> Cue | None:
    """The cue of that name among the built-in ones and the admins' own (``own``)."""
    return {**BUILT_IN, **own}.get(name)


def cue_names(own: dict[str, Cue]) -> list[str]:
    return sorted({**BUILT_IN, **own})
