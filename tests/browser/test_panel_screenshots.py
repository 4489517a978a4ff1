"""Screenshots for docs/moderator.md, of a real room with real SIPp callers (some talking,
one moderator, one muted from the panel), on a laptop and on a phone; and the checks that
the page fits a phone's width."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page, expect

from bridge.service import BridgeService
from tests.browser.conftest import (
    LAPTOP,
    MODERATOR_PIN,
    PHONE,
    ROOM,
    SCREENSHOTS,
    Join,
    OpenPanel,
    roster,
)


async def _fits_the_width(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


async def test_screenshots_of_a_live_room_on_a_laptop_and_a_phone(
    open_panel: OpenPanel, join: Join, service: BridgeService
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    people = await asyncio.gather(
        join(audio=True, stay=120),
        join(audio=True, stay=120),
        join(MODERATOR_PIN, stay=120),
        *(join(stay=120) for _ in range(4)),
    )
    talkers = {people[0].channel, people[1].channel}
    await service.roster.wait_until(
        lambda: any(roster(service)[c]["talking"] for c in talkers if c in roster(service)),
        timeout=20,
    )

    laptop = await open_panel("alice")
    quiet = people[4]
    await laptop.get_by_role("button", name=f"Mute {quiet.caller_id}").click()
    await expect(laptop.get_by_role("button", name=f"Unmute {quiet.caller_id}")).to_be_visible()
    await expect(laptop.locator("#audit li").first).to_contain_text(f"muted {quiet.caller_id}")
    await laptop.mouse.move(0, 0)  # no hover on the last button clicked
    await expect(laptop.get_by_text("Talking", exact=True).first).to_be_visible(timeout=15_000)
    await laptop.screenshot(path=SCREENSHOTS / "room-laptop.png")
    await _fits_the_width(laptop)

    await laptop.goto("/rooms")
    await expect(laptop.get_by_role("link", name="Tuesday general assembly")).to_be_visible()
    await laptop.screenshot(path=SCREENSHOTS / "rooms-laptop.png")

    await laptop.goto(f"/rooms/{ROOM}")
    await laptop.get_by_role("button", name=f"Kick {people[5].caller_id}").click()
    await expect(laptop.get_by_role("dialog")).to_be_visible()
    await laptop.screenshot(path=SCREENSHOTS / "kick-confirm-laptop.png")
    await laptop.get_by_role("button", name="Cancel").click()

    await laptop.get_by_role("button", name="Log out").click()
    await expect(laptop.get_by_role("button", name="Log in")).to_be_visible()
    await laptop.screenshot(path=SCREENSHOTS / "login-laptop.png")

    phone = await open_panel("bob", viewport=PHONE)
    await expect(phone.get_by_role("row", name=quiet.caller_id)).to_be_visible()
    await _fits_the_width(phone)
    await phone.screenshot(path=SCREENSHOTS / "room-phone.png")
    await phone.evaluate("document.getElementById('roster-heading').scrollIntoView()")
    await phone.screenshot(path=SCREENSHOTS / "room-phone-roster.png")
    assert LAPTOP["width"] == 1280 and PHONE["width"] == 375
