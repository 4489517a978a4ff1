"""A practice room from the panel: its host sees it marked "Practice room", picks a scenario,
a number of simulated callers and a speed, and presses "Practise with simulated callers";
the simulated callers (real SIP calls) come into the roster, the state line follows, and
"Stop the practice" hangs every one of them up."""

from __future__ import annotations

from playwright.async_api import expect

from bridge.service import BridgeService
from tests.browser.conftest import SCREENSHOTS, OpenPanel

ROOM = "e2e-practice"


def simulated(service: BridgeService) -> int:
    live = service.switchboard.room(ROOM)
    people = live.participants.values() if live else ()
    return sum(p.caller_id.startswith("practice") for p in people)


async def test_a_host_starts_a_practice_from_the_panel_and_stops_it(
    open_panel: OpenPanel, service: BridgeService
) -> None:
    page = await open_panel("erin", f"/rooms/{ROOM}")
    await expect(page.get_by_text("Practice room", exact=True)).to_be_visible()
    await page.get_by_label("Scenario").select_option("disruptive")
    await page.get_by_label("Simulated callers").fill("4")
    await page.get_by_label("Speed").select_option("4")
    await page.get_by_role("button", name="Practise with simulated callers").click()

    state = page.locator("#practice-state")
    await expect(state).to_contain_text("Practice running: disruptive")
    await expect(state).to_contain_text("4 of 4 simulated callers on the line", timeout=40_000)
    await expect(page.locator("#roster-rows tr")).to_have_count(4)
    assert simulated(service) == 4
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.mouse.move(0, 0)
    await page.locator(".room-state").screenshot(path=SCREENSHOTS / "room-practice.png")

    await page.get_by_role("button", name="Stop the practice").click()
    await expect(state).to_contain_text("Practice stopped: disruptive", timeout=20_000)
    await expect(page.locator("#roster-empty")).to_be_visible(timeout=20_000)
    assert simulated(service) == 0
    await expect(page.get_by_role("button", name="Practise with simulated callers")).to_be_visible()


async def test_a_room_that_is_not_for_practice_offers_none(open_panel: OpenPanel) -> None:
    page = await open_panel("alice")
    await expect(page.get_by_text("Practice room", exact=True)).to_have_count(0)
    await expect(page.get_by_role("button", name="Practise with simulated callers")).to_have_count(
        0
    )
