"""Screenshots for docs/moderator.md, of a real room with real SIPp callers (two talking, one
moderator, hands raised on the keypad, a direct response, someone who has spoken twice, one
muted from the panel, one with the floor), on a laptop and on a phone; and the checks that
the page fits a phone's width."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import Page, expect

from bridge.domain.rooms import QueuePolicy
from bridge.service import BridgeService
from tests.browser.conftest import (
    LAPTOP,
    MODERATOR_PIN,
    PHONE,
    ROOM,
    SCREENSHOTS,
    InRoom,
    Join,
    OpenPanel,
    only_these_in_the_room,
    press,
    roster,
)


async def _fits_the_width(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


async def _shown_muted(service: BridgeService, person: InRoom, muted: bool) -> None:
    await service.roster.wait_until(
        lambda: roster(service)[person.channel]["muted"] is muted, timeout=15
    )


async def test_screenshots_of_a_live_room_on_a_laptop_and_a_phone(
    open_panel: OpenPanel, join: Join, service: BridgeService
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (
        talker,
        other_talker,
        moderator,
        veteran,
        first,
        second,
        quiet,
        responder,
    ) = await asyncio.gather(
        join(audio=True, stay=180),
        join(audio=True, stay=180),
        join(MODERATOR_PIN, stay=180),
        *(join(stay=180, later_keys=("*9",)) for _ in range(4)),
        join(stay=180, later_keys=("*8",)),
    )
    people = (talker, other_talker, moderator, veteran, first, second, quiet, responder)
    await only_these_in_the_room(service, *people)
    await service.speakers.clear(ROOM, None)
    await service.speakers.set_policy(ROOM, QueuePolicy.PROGRESSIVE)
    for _ in range(2):  # the veteran has had the floor twice already
        # Each step once the roster shows it, as a moderator sees it on the panel: Asterisk
        # stamps its events when it sends them, so a Mute's event sent late came stamped after
        # the next turn's Unmute went out and ended that turn (fresh41: "nobody has the floor").
        await service.speakers.call(ROOM, veteran.channel)
        await _shown_muted(service, veteran, False)
        await service.speakers.end_turn(ROOM)
        await _shown_muted(service, veteran, True)
    for person in (veteran, first, second, quiet):  # the veteran's hand went up first
        await press(service, person, "*9")
    await press(service, responder, "*8")

    laptop = await open_panel("alice")
    await laptop.get_by_role("button", name=f"Mute {quiet.caller_id}").click()
    await expect(laptop.get_by_role("button", name=f"Unmute {quiet.caller_id}")).to_be_visible()
    await laptop.get_by_role("button", name=f"Priority {second.caller_id}").click()
    await expect(
        laptop.get_by_role("button", name=f"Priority {second.caller_id}")
    ).to_have_attribute("aria-pressed", "true")
    talker_row = laptop.get_by_role("row", name=talker.caller_id)
    await talker_row.get_by_role("button", name=f"Call on {talker.caller_id}").click()
    await expect(laptop.locator("#speaker")).to_contain_text(talker.caller_id)
    lanes = laptop.locator("#lanes")
    await expect(lanes.get_by_role("heading", name="Stack (4)")).to_be_visible()
    await expect(lanes.locator(f'li[data-channel="{veteran.channel}"]')).to_contain_text("2 turns")
    await service.roster.wait_until(lambda: roster(service)[talker.channel]["talking"], timeout=20)
    await expect(talker_row.get_by_text("Talking", exact=True)).to_be_visible(timeout=15_000)
    await expect(laptop.locator("#speaker")).to_contain_text(re.compile(r"for 0:0[3-9]"))
    await laptop.get_by_role("button", name="Lock the room").click()
    await expect(laptop.locator("#room-locked")).to_be_visible()
    await laptop.get_by_label("Sort by").select_option("talking")  # the talkers on top
    await laptop.mouse.move(0, 0)  # no hover on the last button clicked
    await laptop.evaluate("window.scrollTo(0, 0)")  # the roster's button scrolled the page
    await laptop.screenshot(path=SCREENSHOTS / "room-laptop.png")
    await laptop.locator("section.stack").screenshot(path=SCREENSHOTS / "stack-laptop.png")
    await _fits_the_width(laptop)

    await laptop.goto("/rooms")
    await expect(laptop.get_by_role("link", name="Tuesday general assembly")).to_be_visible()
    await laptop.screenshot(path=SCREENSHOTS / "rooms-laptop.png")

    await laptop.goto(f"/rooms/{ROOM}")
    await laptop.get_by_role("button", name=f"Kick {responder.caller_id}").click()
    await expect(laptop.get_by_role("dialog")).to_be_visible()
    await laptop.screenshot(path=SCREENSHOTS / "kick-confirm-laptop.png")
    await laptop.get_by_role("button", name="Cancel").click()

    await laptop.get_by_role("button", name="Log out").click()
    await expect(laptop.get_by_role("button", name="Log in")).to_be_visible()
    await laptop.screenshot(path=SCREENSHOTS / "login-laptop.png")

    phone = await open_panel("bob", viewport=PHONE)
    await expect(phone.get_by_role("row", name=quiet.caller_id)).to_be_visible()
    await expect(phone.locator("#speaker")).to_contain_text(talker.caller_id)
    await _fits_the_width(phone)
    await phone.screenshot(path=SCREENSHOTS / "room-phone.png")
    await phone.evaluate("document.getElementById('lanes').scrollIntoView()")
    await phone.screenshot(path=SCREENSHOTS / "room-phone-stack.png")
    await phone.evaluate("document.getElementById('roster-heading').scrollIntoView()")
    await phone.screenshot(path=SCREENSHOTS / "room-phone-roster.png")
    assert LAPTOP["width"] == 1280 and PHONE["width"] == 375
    await service.moderation.unlock(ROOM)
