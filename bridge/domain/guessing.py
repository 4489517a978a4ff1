"""How fast a PIN can be guessed at most, under the guard's rules (``bridge.domain.guard``).

The figures in docs/admin.md ("Guessing a PIN") are this module's table for the defaults
(``iobridge lockouts figures`` prints it for the running settings, and a test checks that
the guide shows what the code computes). Each figure is a worst case: guessers who never
repeat a PIN, use every try the rules allow, and run as many calls as they like.

* Sources with a budget (IPv4 addresses, IPv6 /64 blocks, numbers one at a time) fail at
  most ``source_threshold`` times each per window, or ``max_pending`` when they open that
  many calls at once before their first failure; once all failures together reach the
  global alarm, every budget shrinks and all prompts together, first tries too, are
  limited to ``alarm_prompts_per_minute``.
* A trunk's callers, whatever numbers they rotate through or withhold, share the trunk's
  budget: ``trunk_threshold`` at once, then one prompt per ``trunk_spacing``; in any
  window at most twice the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.domain.guard import GuardPolicy

HOUR = 3600.0


@dataclass(frozen=True)
class Guessers:
    """Who guesses: ``sources`` with a budget each, calling through ``trunks`` trunks."""

    label: str
    sources: int = 0
    trunks: int = 0


# The rows of the table in docs/admin.md.
GUESSERS = (
    Guessers("one SIP address (or one /64)", sources=1),
    Guessers("100 SIP addresses", sources=100),
    Guessers("an IPv6 /56 (256 /64 blocks)", sources=256),
    Guessers("an IPv6 /48 (65,536 /64 blocks)", sources=65_536),
    Guessers("one trunk, its callers' numbers rotating", trunks=1),
    Guessers("one trunk, numbers withheld", trunks=1),
)
CASES = ((6, 1), (6, 50), (8, 1), (8, 50))  # (PIN digits, rooms any of which will do)


def failures_per_hour(policy: GuardPolicy, guessers: Guessers) -> float:
    """The most failed PINs the guard lets ``guessers`` make in an hour."""
    per_trunk = 2 * policy.trunk_threshold
    # A fresh source's first burst of parallel calls may all fail: max_pending of them.
    per_source = max(policy.source_threshold, policy.max_pending)
    calm = guessers.sources * per_source + guessers.trunks * per_trunk
    if calm < policy.global_alarm:
        per_window = float(calm)
    else:
        # Up to the alarm, then shrunken budgets and all prompts spaced out.
        in_alarm = max(policy.alarm_source_threshold, policy.max_pending)
        during = guessers.sources * in_alarm + guessers.trunks * per_trunk
        alarm_prompts = policy.alarm_prompts_per_minute * policy.window / 60.0
        per_window = min(calm, policy.global_alarm + min(during, alarm_prompts))
    return per_window * HOUR / policy.window


def expected_hours(policy: GuardPolicy, guessers: Guessers, pin_digits: int, rooms: int) -> float:
    """Expected hours for ``guessers`` to hit one of ``rooms`` PINs of ``pin_digits`` digits.
    Guessing without repeats, a hit among N PINs for k rooms takes (N + 1) / (k + 1) tries
    on average."""
    tries = (10.0**pin_digits + 1) / (rooms + 1)
    return tries / failures_per_hour(policy, guessers)


def expected_hours_to_find(
    policy: GuardPolicy, sources: int, pin_digits: int = 6, rooms: int = 1
) -> float:
    """The same for ``sources`` separate addresses."""
    return expected_hours(policy, Guessers("", sources=sources), pin_digits, rooms)


def duration(hours: float) -> str:
    if hours < 48:
        return f"{hours:.0f} hours"
    if hours < 24 * 365 * 2:
        return f"{hours / 24:,.0f} days"
    return f"{hours / 24 / 365:,.1f} years"


def figures_table(policy: GuardPolicy) -> str:
    """The table of docs/admin.md, in Markdown, for ``policy``."""
    head = ["guessers", "failed PINs an hour, at most"]
    head += [
        f"{digits} digits, {'1 room' if rooms == 1 else f'{rooms} rooms'}"
        for digits, rooms in CASES
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for guessers in GUESSERS:
        cells = [guessers.label, f"{failures_per_hour(policy, guessers):,.0f}"]
        cells += [duration(expected_hours(policy, guessers, d, r)) for d, r in CASES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
