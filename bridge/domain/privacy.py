"""What the history may show of a caller, and for how long. Pure rules, no I/O.

These calls were organised under police pressure: a caller ID is personal data. So:

- history keeps caller IDs for a retention period only; then each call's caller IDs are
  replaced by pseudonyms stable within that call ("caller 1", "caller 2" ...), so its
  report still reads as who spoke when, without saying who they were;
- someone without rights to a room sees at most the last two characters of a caller ID.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bridge.domain.entry import WITHHELD_CALLER_IDS

PSEUDONYM_PREFIX = "caller "
MASK = "…"
SHOWN_WHEN_MASKED = 2  # characters of a caller ID shown to someone without rights


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Calls that ended before this moment have their caller IDs redacted."""
    return now - timedelta(days=retention_days)


def pseudonyms(caller_ids: Iterable[str]) -> dict[str, str]:
    """A pseudonym per distinct caller ID, numbered in the order given (the order of
    joining, for a call's legs); the same caller ID always gets the same pseudonym.
    An empty caller ID says nothing and stays empty."""
    found: dict[str, str] = {}
    for caller_id in caller_ids:
        if caller_id and caller_id not in found:
            found[caller_id] = f"{PSEUDONYM_PREFIX}{len(found) + 1}"
    return found


def is_pseudonym(caller_id: str) -> bool:
    number = caller_id.removeprefix(PSEUDONYM_PREFIX)
    return number != caller_id and number.isdigit()


def mask_caller_id(caller_id: str) -> str:
    """The caller ID as someone without rights to the room sees it: "…23".

    A short caller ID shows nothing at all: its last two characters would be most of it.
    A pseudonym or a withheld number ("anonymous") says nothing and shows as it is."""
    if not caller_id or is_pseudonym(caller_id) or caller_id.lower() in WITHHELD_CALLER_IDS:
        return caller_id
    if len(caller_id) <= 2 * SHOWN_WHEN_MASKED:
        return MASK
    return MASK + caller_id[-SHOWN_WHEN_MASKED:]


def mask_number(caller_id: str) -> str:
    """A caller's number as a room's assistant sees it: its first digits and its last two,
    "+1 555 *** **23" (a facilitator can still tell callers apart and say "the caller
    ending in 23"). A withheld number, a pseudonym or a name shows as it is; a short
    number shows its last two alone."""
    digits = caller_id.removeprefix("+")
    if not digits.isdigit() or is_pseudonym(caller_id):
        return caller_id
    if len(digits) < 7:
        return f"*** **{digits[-2:]}" if len(digits) > 2 else "***"
    head = f"+{digits[0]} {digits[1:4]}" if caller_id.startswith("+") else digits[:3]
    return f"{head} *** **{digits[-2:]}"
