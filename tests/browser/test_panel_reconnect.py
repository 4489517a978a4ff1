"""A panel outlives the service behind it: it reconnects by itself, says so while it does,
and its session, kept in the database, still works afterwards."""

from __future__ import annotations

from playwright.async_api import expect

from bridge.runtime import Runtime
from tests.browser.conftest import Join, OpenPanel
from tests.support import AmiWatcher, event


async def test_a_panel_reconnects_after_a_service_restart_with_its_session(
    open_panel: OpenPanel, join: Join, runtime: Runtime, ami: AmiWatcher
) -> None:
    caller = await join()
    page = await open_panel("alice")
    await expect(page.locator("main")).to_have_attribute("data-connections", "1")

    await runtime.restart_service()
    await expect(page.locator("main")).to_have_attribute("data-connections", "2", timeout=15_000)
    await expect(page.locator("#connection")).to_have_text("Live")
    await expect(page.get_by_role("row", name=caller.caller_id)).to_be_visible()

    mark = ami.mark()
    await page.get_by_role("button", name=f"Mute {caller.caller_id}").click()
    await ami.wait_for(event("ConfbridgeMute", Channel=caller.channel), since=mark)
