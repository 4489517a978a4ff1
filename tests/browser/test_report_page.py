"""The post-call report page in a browser, after a real call in the panel's room: SIPp
callers, two talkers given the floor in turn from the panel, a recording, then the call
ended. A moderator of the room reads it after logging in (caller IDs in full, the chart);
screenshots for docs/moderator.md, on a laptop and on a phone."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page, expect

from bridge.service import BridgeService
from tests.browser.conftest import (
    MODERATOR_PIN,
    PHONE,
    ROOM,
    SCREENSHOTS,
    HttpLogin,
    Join,
    OpenPanel,
)

TURN = 4.0  # seconds each talker holds the floor


async def a_finished_call(service: BridgeService, join: Join, http_login: HttpLogin) -> int:
    """A call in the panel's room with two turns and a recording, ended from the panel."""
    await service.roster.wait_until(lambda: service.switchboard.room(ROOM) is None, timeout=30)
    talkers = await asyncio.gather(join(audio=True, stay=120), join(audio=True, stay=120))
    await asyncio.gather(join(MODERATOR_PIN, stay=120), join(stay=120), join(stay=120))
    alice = await http_login("alice")

    async def act(action: str, **body: str) -> None:
        response = await alice.post_action(ROOM, action, body)
        assert response.status == 200, action

    await act("record")
    for talker in talkers:
        await act("add", channel=talker.channel)
    for _ in talkers:
        await act("next")
        await asyncio.sleep(TURN)
    await act("end-turn")
    await act("stop-record")
    await act("end")
    await service.roster.wait_until(lambda: service.switchboard.room(ROOM) is None, timeout=30)
    await service.history.flushed()
    [call] = await service.reports.list_calls(ROOM, 1)
    assert call.ended_at is not None
    return call.id


async def _fits_the_width(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


async def test_a_moderator_reads_the_report_of_a_call_with_its_chart(
    open_panel: OpenPanel, join: Join, http_login: HttpLogin, service: BridgeService
) -> None:
    call = await a_finished_call(service, join, http_login)
    report = await service.reports.report(call, redact_caller_ids=False)
    assert len(report.turns) == 2 and len(report.recordings) == 1

    page = await open_panel("alice", path=f"/calls/{call}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(f"{call}")
    chart = page.locator("svg").first
    await expect(chart).to_be_visible()
    for person in report.presence:
        await expect(page.get_by_role("cell", name=person.who).first).to_be_visible()
    turns = page.locator("section[aria-labelledby=turns-heading] tbody tr")
    await expect(turns).to_have_count(2)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "call-report-laptop.png", full_page=True)

    phone = await open_panel("bob", path=f"/calls/{call}", viewport=PHONE)
    await expect(phone.locator("svg").first).to_be_visible()
    await _fits_the_width(phone)
    await phone.screenshot(path=SCREENSHOTS / "call-report-phone.png")


async def test_a_moderator_of_another_room_is_refused_the_report(
    open_panel: OpenPanel, service: BridgeService
) -> None:
    [call] = await service.reports.list_calls(ROOM, 1)
    page = await open_panel("carol", path=f"/calls/{call.id}")
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    shown = await page.content()
    report = await service.reports.report(call.id, redact_caller_ids=False)
    assert not any(person.who in shown for person in report.presence)


async def test_a_host_purges_a_call_from_its_report_after_ticking_the_box(
    open_panel: OpenPanel, service: BridgeService
) -> None:
    from datetime import UTC, datetime, timedelta

    from bridge.store.models import Call, Leg

    started = datetime.now(UTC) - timedelta(hours=2)
    async with service.db.sessions.begin() as session:
        row = Call(room_name=ROOM, started_at=started, ended_at=started + timedelta(minutes=5))
        session.add(row)
        await session.flush()
        session.add(
            Leg(
                call_id=row.id, channel="PJSIP/anonymous-0000beef", caller_id="+15550009999",
                role="participant", joined_at=started, left_at=started + timedelta(minutes=4),
            )
        )  # fmt: skip
        call = row.id

    page = await open_panel("alice", path=f"/calls/{call}")
    purge = page.get_by_role("button", name="Purge this call")
    await purge.click()  # the box is not ticked: the browser asks for it, nothing is sent
    await expect(page.get_by_role("cell", name="+15550009999").first).to_be_visible()
    await page.get_by_role("checkbox", name="Delete this call's history and recordings").check()
    await purge.click()
    await expect(page.get_by_text("A host purged this call on")).to_be_visible()
    await expect(page.get_by_role("button", name="Purge this call")).to_have_count(0)
    await expect(page.get_by_text("+15550009999")).to_have_count(0)
    [trail] = await service.audit.of_call(call)
    assert (trail.actor, trail.action) == ("alice", "purge call")
