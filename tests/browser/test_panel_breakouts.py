"""Breakout groups in the panel, against the real stack: a moderator splits four SIPp callers
into two groups from Chromium; each group shows live with its members; a caller's *0 marks
their group "Wants a moderator" until the moderator joins it with their phone; the broadcast
goes on; ending brings everyone back. Controls are found by their accessible names: the
region "Breakout groups", the buttons "Start breakout groups", "Join with my phone group-N",
"Broadcast to every group", "End the breakout"."""

from __future__ import annotations

import asyncio

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

MODERATOR_PIN = "8643#"


async def test_groups_start_show_live_answer_star_zero_and_end_from_the_panel(
    open_panel: OpenPanel, join: Join, service: BridgeService
) -> None:
    callers = await asyncio.gather(*(join(later_keys=("*0",), stay=90) for _ in range(4)))
    moderator = await join(MODERATOR_PIN, stay=90)
    await only_these_in_the_room(service, *callers, moderator)
    page = await open_panel("alice")
    section = page.get_by_role("region", name="Breakout groups")
    await section.get_by_label("Number of groups").fill("2")
    await section.get_by_label("Minutes", exact=True).fill("15")
    await section.get_by_role("button", name="Start breakout groups").click()

    groups = section.get_by_role("list", name="Groups")
    for name in ("group-1", "group-2"):
        members = groups.get_by_role("list", name=f"Members of {name}")
        await expect(members.get_by_role("listitem")).to_have_count(2)
    await expect(section.get_by_role("timer")).to_contain_text("left")
    live = service.switchboard.room(ROOM)
    assert live is not None
    await service.roster.wait_until(
        lambda: all(live.participants[c.channel].group for c in callers), timeout=30
    )
    assert live.participants[moderator.channel].group is None  # moderators stay

    await press(service, callers[0], "*0")
    group = service.breakouts.running(ROOM).group_of(callers[0].channel)
    assert group is not None
    asking = groups.locator(f'[data-group="{group}"]')
    await expect(asking.get_by_text("Wants a moderator")).to_be_visible()
    await section.get_by_role("button", name="Broadcast to every group").click()
    await expect(section.get_by_role("button", name="Stop broadcasting")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.mouse.move(0, 0)
    await section.screenshot(path=SCREENSHOTS / "room-breakouts-laptop.png")

    await section.get_by_label("Your phone (to join a group)").select_option(moderator.channel)
    await section.get_by_role("button", name=f"Join with my phone {group}").click()
    await expect(asking.get_by_text("Wants a moderator")).to_have_count(0)
    await service.roster.wait_until(
        lambda: live.participants[moderator.channel].group == group, timeout=30
    )

    await section.get_by_role("button", name="End the breakout").click()
    await page.get_by_role("dialog").get_by_role("button", name="End the breakout").click()
    await expect(section.get_by_role("button", name="Start breakout groups")).to_be_visible()
    await service.roster.wait_until(
        lambda: all(p.group is None for p in live.participants.values()), timeout=30
    )
    await expect(page.locator("#audit")).to_contain_text("ended the breakouts")
