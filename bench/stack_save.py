"""What saving one room's speaker stack costs as its call goes on: the soak's room (120 in
it, each caller staying a minute, every one of them talking), after N callers, the stack's
``to_state()`` and its JSON as ``bridge.store.stacks.save_stack`` writes it, which happens
about once a second while moderators run the stack.

    .venv/bin/python -m bench.stack_save [--calls 600,2400,14400]

Prints the saved state's size and the time per save for each N; asserts nothing. A save
that grows with every caller the call ever had costs a long room more CPU every minute (a
two-hour soak's 14,400 callers: 1.5 MiB and 69 ms per save before 2026-12-07).
"""

from __future__ import annotations

import argparse
import json
import time

from bridge.domain.events import Role
from bridge.domain.rooms import QueuePolicy
from bridge.domain.speakers import SpeakerStack

T = 1_796_000_000.0
IN_THE_ROOM = 120


def churned(calls: int) -> SpeakerStack:
    """A stack after ``calls`` callers came, talked a little and (all but the last 120) left."""
    stack = SpeakerStack("bench-assembly", QueuePolicy.PROGRESSIVE)
    for n in range(calls):
        channel = f"PJSIP/anonymous-{n:08x}"
        stack.join(channel, f"s{n:06d}", Role.PARTICIPANT, T + n)
        stack.note_speech(channel, 1, 4.4, T + n + 0.5)
        if n >= IN_THE_ROOM:
            stack.leave(f"PJSIP/anonymous-{n - IN_THE_ROOM:08x}", T + n + 0.6)
    return stack


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.stack_save", description=__doc__)
    ap.add_argument("--calls", default="600,2400,14400", help="callers so far (comma-separated)")
    ap.add_argument("--saves", type=int, default=200, help="saves timed per size (200)")
    args = ap.parse_args()
    for calls in (int(n) for n in args.calls.split(",")):
        stack = churned(calls)
        started = time.perf_counter()
        for _ in range(args.saves):
            text = json.dumps(stack.to_state(), separators=(",", ":"))
        each = (time.perf_counter() - started) / args.saves
        print(f"{calls:>6} callers so far: saved state {len(text) / 1024:7.1f} KiB, "
              f"{each * 1000:6.2f} ms a save")  # fmt: skip


if __name__ == "__main__":
    main()
