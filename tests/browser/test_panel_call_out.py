"""Calling people in from the panel, against the real stack and the simulated carrier
(tests/integration/carrier.py): a host pastes numbers into the "Call out" form, each
number's state follows live (the callee who pressed 1 joins, the busy one is busy), and the
one who joined is in the roster as "Participant, dialed out". An assistant has no form, and
the action forged with an assistant's session is refused (403)."""

from __future__ import annotations

from playwright.async_api import expect

from bridge.service import BridgeService
from tests.browser.conftest import ROOM, SCREENSHOTS, HttpLogin, OpenPanel
from tests.integration.carrier import (
    Carrier,
    carrier as carrier,  # the fixture
)

JOINS, BUSY = "+15558881002", "+15558882002"


async def test_a_host_calls_numbers_in_and_sees_each_ones_state_live(
    open_panel: OpenPanel, service: BridgeService, carrier: Carrier
) -> None:
    page = await open_panel("alice")
    section = page.get_by_role("region", name="Call out")
    await section.get_by_label("Numbers to call into the room").fill(f"{JOINS}, Ana\n{BUSY}")
    await section.get_by_role("button", name="Call these numbers").click()

    rows = section.get_by_role("row")
    await expect(rows.filter(has_text=BUSY)).to_contain_text("Busy", timeout=15_000)
    await expect(rows.filter(has_text=f"Ana ({JOINS})")).to_contain_text("Joined", timeout=20_000)
    await expect(section.get_by_label("Numbers to call into the room")).to_have_value("")
    roster = page.locator("#roster-rows")
    await expect(roster.get_by_text("Participant, dialed out")).to_have_count(1)
    await expect(page.locator("#audit")).to_contain_text("alice called out to")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.mouse.move(0, 0)
    await section.screenshot(path=SCREENSHOTS / "room-call-out.png")
    joined = [c for c in service.dialout.calls_of(ROOM) if c.number == JOINS]
    assert joined and joined[0].asked_by == "alice"


async def test_an_assistant_has_no_call_out_form_and_a_forged_one_is_refused(
    open_panel: OpenPanel, http_login: HttpLogin, service: BridgeService
) -> None:
    page = await open_panel("dana")  # an assistant of the room (tests/data/rooms-e2e.yaml)
    await expect(page.get_by_role("region", name="Call out")).to_have_count(0)
    forger = await http_login("dana")
    response = await forger.post_action(ROOM, "dialout-start", {"numbers": ["+15558881003"]})
    assert response.status == 403
    assert not [c for c in service.dialout.calls_of(ROOM) if c.number == "+15558881003"]
