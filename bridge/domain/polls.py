"""Temperature checks: a moderator asks the room a question and callers answer on the keypad.

Pure: a ``Poll`` takes the moderator's open and close, the callers' keys and their leaving,
and answers with what the caller is told (a ``Choice``) or nothing. Keys ``1``.. ``8`` are
the options in order, ``9`` a block when the poll allows one.

- Each caller counts once, by channel: their latest key is their answer.
- A key pressed while no poll is open, or a key that is no option, changes nothing.
- A caller who leaves while the poll is open takes their answer with them: the tally is
  of the room as it is now, so "voters out of present" never counts someone who is gone.
  Once closed, a poll is frozen (that is what the history keeps).
- Who blocks is named to moderators only (``Tally.blocks``); callers hear only their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_OPTIONS = 8
BLOCK_KEY = "9"
DEFAULT_OPTIONS = ("agree", "unsure", "disagree")
MAX_QUESTION = 200  # characters
MAX_LABEL = 40


class PollError(ValueError):
    """A poll the moderator asked for cannot be: the message says why."""


class BadOptions(PollError):
    pass


class BadQuestion(PollError):
    pass


class NoPoll(PollError):
    def __init__(self, room: str) -> None:
        super().__init__(f"room '{room}' has no open poll")
        self.room = room


def check_options(options: tuple[str, ...]) -> tuple[str, ...]:
    """The options as they will be shown; ``BadOptions`` with the reason otherwise."""
    labels = tuple(option.strip() for option in options)
    if not labels:
        raise BadOptions("a poll needs at least 1 option")
    if len(labels) > MAX_OPTIONS:
        raise BadOptions(f"a poll takes at most {MAX_OPTIONS} options, got {len(labels)}")
    for label in labels:
        if not label:
            raise BadOptions("an option is empty")
        if len(label) > MAX_LABEL:
            raise BadOptions(f"option '{label[:20]}...' is longer than {MAX_LABEL} characters")
    seen: set[str] = set()
    for label in labels:
        if label.lower() in seen:
            raise BadOptions(f"option '{label}' is listed twice")
        seen.add(label.lower())
    return labels


def check_question(question: str) -> str:
    text = " ".join(question.split())
    if len(text) > MAX_QUESTION:
        raise BadQuestion(f"the question is longer than {MAX_QUESTION} characters")
    return text


@dataclass(frozen=True)
class Voter:
    channel: str
    caller_id: str
    name: str


@dataclass(frozen=True)
class Choice:
    """What a caller is told after a key: the option's key and label (or the block)."""

    key: str
    label: str

    @property
    def blocks(self) -> bool:
        return self.key == BLOCK_KEY


@dataclass(frozen=True)
class OptionCount:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Tally:
    room: str
    question: str
    open: bool
    options: tuple[OptionCount, ...]
    voters: int
    blocks: tuple[Voter, ...]  # for moderators only
    opened_at: float
    closed_at: float | None

    def as_json(self, present: int) -> dict[str, object]:
        """``iobridge poll ROOM show --json``."""
        return {
            "room": self.room,
            "question": self.question,
            "open": self.open,
            "options": [{"key": o.key, "label": o.label, "count": o.count} for o in self.options],
            "voters": self.voters,
            "present": present,
            "blocks": [
                {"channel": v.channel, "caller_id": v.caller_id, "name": v.name}
                for v in self.blocks
            ],
        }


@dataclass
class Poll:
    room: str
    question: str
    options: tuple[str, ...]
    block: bool
    opened_at: float
    closed_at: float | None = None
    answers: dict[str, tuple[Voter, str]] = field(default_factory=dict)  # channel -> key

    @classmethod
    def open(
        cls, room: str, question: str, options: tuple[str, ...], block: bool, at: float
    ) -> Poll:
        return cls(room, check_question(question), check_options(options), block, at)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def keys(self) -> dict[str, str]:
        """Each key that answers, and what it means."""
        keys = {str(n): label for n, label in enumerate(self.options, start=1)}
        if self.block:
            keys[BLOCK_KEY] = "block"
        return keys

    def press(self, voter: Voter, key: str) -> Choice | None:
        """A caller's key; None when it means nothing now (closed poll, no such option)."""
        label = self.keys().get(key)
        if not self.is_open or label is None:
            return None
        self.answers.pop(voter.channel, None)  # the latest key counts, in the order given
        self.answers[voter.channel] = (voter, key)
        return Choice(key, label)

    def leave(self, channel: str) -> bool:
        """A caller left: their answer goes while the poll is open. Whether the tally moved."""
        if not self.is_open:
            return False
        return self.answers.pop(channel, None) is not None

    def close(self, at: float) -> None:
        if self.closed_at is None:
            self.closed_at = at

    def tally(self) -> Tally:
        counts = dict.fromkeys(self.keys(), 0)
        for _, key in self.answers.values():
            counts[key] += 1
        return Tally(
            room=self.room,
            question=self.question,
            open=self.is_open,
            options=tuple(OptionCount(k, label, counts[k]) for k, label in self.keys().items()),
            voters=len(self.answers),
            blocks=tuple(v for v, key in self.answers.values() if key == BLOCK_KEY),
            opened_at=self.opened_at,
            closed_at=self.closed_at,
        )


@dataclass(frozen=True)
class PollChanged:
    """A room's poll changed (opened, a key, someone left, closed): panels redraw it."""

    room: str
