"""Masked numbers on the panel: a room's assistant sees a caller as "+1 555 *** **23" (the
service builds their feed so; the whole number never reaches their browser), a host sees
the whole number."""

from __future__ import annotations

from playwright.async_api import expect

from bridge.domain.privacy import mask_number
from tests.browser.conftest import Join, OpenPanel


async def test_an_assistant_sees_a_masked_number_and_a_host_the_whole(
    open_panel: OpenPanel, join: Join
) -> None:
    caller = await join()
    masked = mask_number(caller.caller_id)
    assert masked != caller.caller_id

    assistant = await open_panel("dana")
    await expect(assistant.get_by_role("row", name=masked)).to_be_visible()
    assert caller.caller_id not in await assistant.locator("main").inner_text()

    host = await open_panel("alice")
    await expect(host.get_by_role("row", name=caller.caller_id)).to_be_visible()
