"""What may be dialled, and how fast: the toll-fraud limits of dial-out.

The commonest attack on a PBX is someone else's calls on its trunk, so every number is
checked before anything is dialled, and a request with one bad number dials none:

- a number is E.164 (``+`` and its country code), or it is refused;
- it goes out through a trunk whose ``outbound.allowed_prefixes`` it starts with (a trunk
  that lists none dials nothing);
- each moderator dials at most ``dialout_daily_limit`` numbers a day (UTC);
- each trunk has at most ``max_concurrent`` calls at once and starts at most
  ``calls_per_second`` (``TrunkPacer``).

Only moderators ask for numbers (the action table): no keypad dialogue takes one, so no
caller can type a number that gets dialled.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from difflib import get_close_matches
from typing import NoReturn

from bridge.domain.trunks import NotANumber, TrunkSpec, e164

MAX_NAME = 80
MAX_NUMBERS = 1000  # in one request


class DialRefused(ValueError):
    """A dial-out refused before anything is dialled; the message is one line a person reads."""


@dataclass(frozen=True)
class Callee:
    """A number to call (E.164), and the name the moderator gave it ("" for none)."""

    number: str
    name: str = ""


def read_callees(lines: list[str], where: str = "line") -> list[Callee]:
    """Numbers, one a line, an optional name after a comma (``+15551230000, Alex``); blank
    lines and ``#`` comments skipped. Every problem is ``line N: ...`` (a file's: ``FILE:N:
    ...``); the first refuses the whole list. The same number twice is called once (the
    first name kept)."""
    callees: dict[str, Callee] = {}
    at = "{where} {index}" if where == "line" else "{where}:{index}"
    for index, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = next(csv.reader([text], skipinitialspace=True))
        raw = fields[0] if fields else ""
        name = ",".join(fields[1:]).strip()
        try:
            number = e164(raw)
        except NotANumber as exc:
            raise DialRefused(f"{at.format(where=where, index=index)}: {exc}") from None
        if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
            raise DialRefused(
                f"{at.format(where=where, index=index)}: name: at most {MAX_NAME} printable "
                "characters"
            )
        callees.setdefault(number, Callee(number, name))
    if len(callees) > MAX_NUMBERS:
        raise DialRefused(f"{len(callees)} numbers: at most {MAX_NUMBERS} in one request")
    return list(callees.values())


def choose_trunk(trunks: list[TrunkSpec], number: str, wanted: str | None = None) -> TrunkSpec:
    """The trunk ``number`` goes out through: ``wanted`` if named (it must allow the number),
    else the first trunk (by name) that allows it."""
    if wanted is not None:
        named = {trunk.name: trunk for trunk in trunks}
        trunk = named.get(wanted)
        if trunk is None:
            close = get_close_matches(wanted, list(named), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            known = ", ".join(sorted(named)) or "none"
            raise DialRefused(f"--trunk {wanted}: no such trunk{hint}; trunks: {known}")
        candidates = [trunk]
    else:
        candidates = sorted(trunks, key=lambda t: t.name)
        if not candidates:
            raise DialRefused("no trunk to dial out through (the rooms file's trunks:)")
    for trunk in candidates:
        if trunk.outbound.allows(number):
            return trunk
    if len(candidates) == 1 and not candidates[0].outbound.allowed_prefixes:
        raise DialRefused(
            f"{number}: trunk {candidates[0].name} dials out nowhere "
            "(its outbound: allowed_prefixes is empty)"
        )
    allowed = sorted({p for t in candidates for p in t.outbound.allowed_prefixes})
    return _outside(number, allowed)


def _outside(number: str, allowed: list[str]) -> NoReturn:
    listed = ", ".join(allowed) if allowed else "none"
    raise DialRefused(f"{number}: outside the allowed prefixes ({listed})")


def check_daily(actor: str, asking: int, dialled_today: int, limit: int) -> None:
    """Refuse a request that would take ``actor`` past ``limit`` numbers today."""
    left = max(0, limit - dialled_today)
    if asking > left:
        raise DialRefused(
            f"{actor} may dial {left} more numbers today (dialout_daily_limit {limit}); "
            f"asked for {asking}"
        )


@dataclass
class TrunkPacer:
    """One trunk's pace: at most ``max_concurrent`` calls up at once (ringing, answered or
    in a room), starts at least ``1 / calls_per_second`` apart."""

    max_concurrent: int
    calls_per_second: float
    up: int = 0
    last_start: float | None = None

    def wait(self, now: float) -> float | None:
        """Seconds until the next call may start; None while every slot is taken."""
        if self.up >= self.max_concurrent:
            return None
        if self.last_start is None:
            return 0.0
        return max(0.0, self.last_start + 1.0 / self.calls_per_second - now)

    def start(self, now: float) -> None:
        if self.wait(now) != 0.0:
            raise RuntimeError("a call started against its trunk's pace")
        self.up += 1
        self.last_start = now

    def ended(self) -> None:
        self.up = max(0, self.up - 1)
