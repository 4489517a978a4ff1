"""The room page of a room of 300 with 40 hands up, in Chromium: how long its first view
takes, and how long one update takes to be applied. Prints figures; asserts nothing.

    .venv/bin/python -m bench.room_page [--participants 300] [--hands 40] [--loads 5]
                                        [--updates 40]

The room is ``bench.big_room``'s: the real service and web app, the callers brought in as
AMI's events would bring them (no SIP calls). Debian's Chromium (Playwright) opens the page
as a moderator; the figures are the page's own user timing (``bridge/web/static/room.js``):

* first view: ``iobridge:first-view``'s time from the navigation's start (the page, its
  scripts, the websocket and the whole room drawn); target under 1 s;
* an update: one participant muted or unmuted (``MuteChanged``, as Asterisk reports it), or
  one hand raised (the stack redrawn, the roster's marks); ``iobridge:draw`` is the
  script's share, ``iobridge:laid-out`` that and the style and layout it causes (the
  "applied" of the target, under 50 ms), ``iobridge:shown`` up to the next frame after it
  (painted too; headless Chromium paints in software, and on a shared machine the frame
  may wait for the CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from typing import Any

from bench.big_room import BigRoom, big_room

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
LAPTOP = {"width": 1280, "height": 800}

FIRST_VIEW = "performance.getEntriesByName('iobridge:first-view').map(e => e.startTime)"
LATEST = (
    "([name, version]) => performance.getEntriesByName(name)"
    ".filter(e => e.detail >= version).map(e => e.duration)"
)
MEASURES = ("draw", "laid-out", "shown")
VERSION = "document.getElementById('main').dataset.version || '0'"


async def _until(page: Any, script: str, arg: Any = None, timeout: float = 10.0) -> Any:
    """Poll ``script`` in the page until it gives something (the page's CSP forbids the
    evaluated strings ``wait_for_function`` would need)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await page.evaluate(script, arg)
        if value:
            return value
        await asyncio.sleep(0.01)
    raise TimeoutError(script)


async def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    from playwright.async_api import async_playwright

    from bridge.domain.events import MuteChanged
    from bridge.domain.speakers import Lane

    figures: dict[str, list[float]] = {
        f"{kind}{measure}": [] for kind in ("", "stack ") for measure in MEASURES
    }
    figures["first view"] = []
    async with big_room(args.participants, args.hands) as room, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport=LAPTOP)  # type: ignore[arg-type]
        await _log_in(page, room)
        for _ in range(args.loads):
            await page.goto(f"{room.base_url}/rooms/{room.room}")
            (first,) = await _until(page, FIRST_VIEW)
            figures["first view"].append(first / 1000)
        await asyncio.sleep(0.5)
        service = room.service
        muted = {channel: True for channel in room.channels[1:]}
        for n in range(args.updates):
            before = int(await page.evaluate(VERSION))
            if n % 4 == 3:  # a hand raised (or lowered again): the stack and the marks
                channel = room.channels[200 + n]
                await service.speakers.add(room.room, channel, Lane.STACK)
                kind = "stack "
            else:
                channel = room.channels[1 + (n * 37) % (len(room.channels) - 1)]
                muted[channel] = not muted[channel]
                service.roster.receive(MuteChanged(room.room, channel, muted[channel], time.time()))
                kind = ""
            await _until(page, f"Number({VERSION}) > {before}")
            version = int(await page.evaluate(VERSION))
            for measure in ("draw", "laid-out", "shown"):
                (duration,) = await _until(page, LATEST, [f"iobridge:{measure}", version])
                figures[f"{kind}{measure}"].append(duration / 1000)
            await asyncio.sleep(0.1)  # the feed's coalescing: one version per update
        await browser.close()
    return figures


async def _log_in(page: Any, room: BigRoom) -> None:
    await page.goto(f"{room.base_url}/login")
    await page.get_by_label("Username").fill(room.username)
    await page.get_by_label("Password").fill(room.password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{room.base_url}/rooms*")


def line(name: str, values: list[float], target: float) -> str:
    ms = sorted(v * 1000 for v in values)
    p50, p90 = ms[len(ms) // 2], ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    verdict = "under" if ms[-1] < target * 1000 else "OVER"
    return (
        f"  {name:<24} p50 {p50:7.1f} ms   p90 {p90:7.1f} ms   max {ms[-1]:7.1f} ms   "
        f"(n={len(ms)}; {verdict} the {target * 1000:.0f} ms target)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=300)
    parser.add_argument("--hands", type=int, default=40)
    parser.add_argument("--loads", type=int, default=5, help="first views measured")
    parser.add_argument("--updates", type=int, default=40, help="updates measured")
    args = parser.parse_args()
    figures = asyncio.run(measure(args))
    print(
        f"room page: {args.participants} callers, {args.hands} hands up, Chromium "
        f"({platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; the callers simulated, see the module's docstring)"
    )
    print(line("first view", figures["first view"], 1.0))
    for kind, what in (("", "a mute"), ("stack ", "a hand raised")):
        print(line(f"{what}: drawn", figures[f"{kind}draw"], 0.05))
        print(line(f"{what}: laid out", figures[f"{kind}laid-out"], 0.05))
        print(line(f"{what}: next frame", figures[f"{kind}shown"], 0.05))


if __name__ == "__main__":
    main()
