"""Labels: the name and place moderators give a caller ("Alex, Occupy Oakland"), so a
facilitator can say "next, Oakland". A label belongs to the caller's number in one room
(a caller who drops and dials back keeps it); a caller without a number keeps it on
their channel. Pure values: the service keeps them, the doors show them."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

MAX_LABEL = 80  # characters


class BadLabel(ValueError):
    """A label no page could show as it is: too long, or with control characters."""


def check_label(text: str) -> str:
    """The label as kept (spaces around it removed); ``BadLabel`` saying why otherwise.
    An empty label takes the caller's label away."""
    label = text.strip()
    if len(label) > MAX_LABEL:
        raise BadLabel(f"a label is at most {MAX_LABEL} characters, got {len(label)}")
    for char in label:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            raise BadLabel(f"a label may not hold control characters, got {char!r}")
    return label


def label_key(caller_id: str, channel: str) -> str:
    """Whom a label belongs to: the caller's number, else their channel."""
    return f"number:{caller_id}" if caller_id else f"channel:{channel}"


@dataclass
class RoomLabels:
    """The labels of one room, by ``label_key``."""

    labels: dict[str, str] = field(default_factory=dict)

    def give(self, caller_id: str, channel: str, text: str) -> str:
        label = check_label(text)
        key = label_key(caller_id, channel)
        if label:
            self.labels[key] = label
        else:
            self.labels.pop(key, None)
        return label

    def of(self, caller_id: str, channel: str) -> str:
        return self.labels.get(label_key(caller_id, channel), "")


@dataclass(frozen=True)
class CallerMarked:
    """A moderator labelled a caller of ``room``, or paused or gave back their keys:
    panels redraw its roster."""

    room: str
