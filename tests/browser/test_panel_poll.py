"""The temperature check and the cues in the panel, against the real stack: a moderator opens a
poll in Chromium, SIPp callers answer with real keys inside ConfBridge, the bars and "N
answered out of M present" follow live, and a cue played from the page is Asterisk's own
announcer joining the room. Controls are found by their accessible names: the buttons "Open
the poll", "Close the poll" and "Play the cue", the region "Temperature check", the list
"Answers so far" with one item per option ("agree: 2")."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import expect

from bridge.service import BridgeService
from tests.browser.conftest import (
    ROOM,
    SCREENSHOTS,
    Join,
    OpenPanel,
    only_these_in_the_room,
    press,
)
from tests.support import AmiWatcher


def announcer(name: str) -> Any:
    """An AMI event of the room's announcer (the bridge's own Local channel)."""
    return lambda e: (
        e.get("Event") == name
        and e.get("Conference") == ROOM
        and str(e.get("Channel", "")).startswith(f"Local/{ROOM}@iobridge-announce-")
    )


async def test_a_poll_opened_in_the_panel_tallies_the_callers_keys_live_and_closes(
    open_panel: OpenPanel, join: Join, service: BridgeService
) -> None:
    keys = ("1", "2", "1", "9")
    people = await asyncio.gather(*(join(later_keys=(key,)) for key in keys))
    await only_these_in_the_room(service, *people)
    page = await open_panel("alice")
    section = page.get_by_role("region", name="Temperature check")
    await section.get_by_label("Question").fill("Adopt the proposal?")
    await section.get_by_label("Options, keys 1 to 8 in order").fill("agree, unsure, disagree")
    await section.get_by_label("Key 9 blocks").check()
    await section.get_by_role("button", name="Open the poll").click()

    await expect(section.get_by_text("Open: Adopt the proposal?")).to_be_visible()
    await expect(section.get_by_text("0 answered out of 4 present")).to_be_visible()
    await expect(section.get_by_role("button", name="Open the poll")).to_have_count(0)
    await expect(section.get_by_label("Question")).to_be_hidden()
    bars = section.get_by_role("list", name="Answers so far")
    for label in ("agree: 0", "unsure: 0", "disagree: 0", "block: 0"):
        await expect(bars.get_by_role("listitem", name=label, exact=True)).to_be_visible()

    await press(service, people[0], "1")  # one key, and the page follows it
    await expect(bars.get_by_role("listitem", name="agree: 1", exact=True)).to_be_visible()
    await expect(section.get_by_text("1 answered out of 4 present")).to_be_visible()
    await asyncio.gather(*(press(service, p, k) for p, k in zip(people[1:], keys[1:], strict=True)))
    for label in ("agree: 2", "unsure: 1", "disagree: 0", "block: 1"):
        await expect(bars.get_by_role("listitem", name=label, exact=True)).to_be_visible()
    await expect(section.get_by_text("4 answered out of 4 present")).to_be_visible()
    await expect(section.get_by_text(f"Blocked by: {people[3].caller_id}")).to_be_visible()

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.mouse.move(0, 0)  # no hover on the last button clicked
    await page.screenshot(path=SCREENSHOTS / "room-poll-laptop.png")

    await section.get_by_role("button", name="Close the poll").click()
    await expect(section.get_by_text("Closed: Adopt the proposal?")).to_be_visible()
    await expect(section.get_by_role("button", name="Open the poll")).to_be_visible()
    await expect(section.get_by_label("Question")).to_be_visible()  # ready for the next one
    await expect(bars.get_by_role("listitem", name="agree: 2", exact=True)).to_be_visible()  # kept
    tally = service.polls.tally(ROOM)
    assert tally is not None and not tally.open
    assert {o.label: o.count for o in tally.options} == {
        "agree": 2,
        "unsure": 1,
        "disagree": 0,
        "block": 1,
    }


async def test_a_cue_played_from_the_panel_is_the_announcer_joining_the_room(
    open_panel: OpenPanel, join: Join, ami: AmiWatcher, service: BridgeService
) -> None:
    caller = await join(stay=60)
    await only_these_in_the_room(service, caller)
    page = await open_panel("alice")
    section = page.get_by_role("region", name="Temperature check")
    await section.get_by_label("Cue to play to the whole room").select_option("chime")
    mark = ami.mark()
    await section.get_by_role("button", name="Play the cue").click()
    await ami.wait_for(announcer("ConfbridgeJoin"), since=mark, timeout=10)
    await expect(page.locator("#audit")).to_contain_text("played the cue")
    # The announcer is no participant: the roster still holds the caller alone.
    live = service.switchboard.room(ROOM)
    assert live is not None and list(live.participants) == [caller.channel]
