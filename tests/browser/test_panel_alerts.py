"""An alert's page in the panel, against the real stack and the simulated carrier
(tests/integration/carrier.py): a host of the room the alert offers sees each number's
result and attempts as the calls end (one joined, one heard the message, one busy, one never
answered), and the screenshot of docs/moderator.md "Alerts" is taken of it."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from bridge.domain.accounts import Principal
from bridge.domain.alerts import result_of
from bridge.service import BridgeService
from tests.browser.conftest import ROOM, SCREENSHOTS, OpenPanel
from tests.integration.carrier import (
    Carrier,
    carrier as carrier,  # the fixture
)
from tests.support import eventually
from tests.unit.test_alerts import wav

JOINS, HEARS, BUSY, NEVER = "+15558881004", "+15558885004", "+15558882004", "+15558883004"
# Each number's result and attempts: the busy and the unanswered are tried once more.
EXPECTED = {JOINS: ("joined", 1), HEARS: ("heard", 1), BUSY: ("busy", 2), NEVER: ("no-answer", 2)}


async def test_a_host_sees_what_became_of_each_number_of_an_alert(
    open_panel: OpenPanel, service: BridgeService, carrier: Carrier
) -> None:
    alert, _ = await service.alerts.send(
        Principal.admin(), [f"{JOINS}, Ana", f"{HEARS}, Sam", BUSY, f"{NEVER}, Lee"],
        wav(seconds=1.0), ROOM, None, retries=1, retry_after=1.0,
    )  # fmt: skip

    def over() -> bool:
        calls = service.dialout.book.calls_of_alert(alert.id)
        return {c.number: (str(result_of(c)), c.attempts) for c in calls} == EXPECTED

    try:
        await eventually(over, timeout=40, every=0.3)
    except TimeoutError:
        pytest.fail(f"{service.dialout.book.calls_of_alert(alert.id)}; {carrier.lines()}")
    page = await open_panel("alice", f"/alerts/{alert.id}")
    table = page.get_by_role("table", name="What became of each number")
    for number, (result, attempts) in EXPECTED.items():
        row = table.get_by_role("row").filter(has_text=number)
        await expect(row.get_by_role("cell").nth(1)).to_have_text(result)
        await expect(row.get_by_role("cell").nth(2)).to_have_text(str(attempts))
    await expect(table.get_by_role("row").filter(has_text=JOINS)).to_contain_text("Ana")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.mouse.move(0, 0)
    await page.locator("main").screenshot(path=SCREENSHOTS / "alert-results.png")
    # The list sums each alert up; a busy number waiting ten minutes is a retry pending.
    waiting, _ = await service.alerts.send(
        Principal.admin(), [BUSY[:-3] + "005"], wav(seconds=1.0), ROOM, None, retries=1,
        retry_after=600.0,
    )  # fmt: skip
    await eventually(
        lambda: (
            [c.waiting_to_retry() for c in service.dialout.book.calls_of_alert(waiting.id)]
            == [True]
        ),
        timeout=15,
    )
    listing = await open_panel("alice", "/alerts")
    alerts = listing.get_by_role("table", name="Alerts, newest first")
    progress = {
        alert.id: "2 of 4 numbers reached in 6 calls",
        waiting.id: "0 of 1 number reached in 1 call, 1 retry pending",
    }
    for alert_id, said in progress.items():
        row = alerts.get_by_role("row").filter(
            has=listing.get_by_role("link", name=alert_id, exact=True)
        )
        await expect(row.get_by_role("cell").last).to_have_text(said)
    await expect(alerts.get_by_role("columnheader", name="Progress")).to_be_visible()
    await expect(page.get_by_text("2 of 4 numbers reached in 6 calls.")).to_be_visible()
