"""Roles on the panel: an assistant's page has no host button, and a host action forged
over plain HTTP with an assistant's session is refused (403) and changes nothing."""

from __future__ import annotations

from playwright.async_api import expect

from bridge.domain.privacy import mask_number
from bridge.service import BridgeService
from tests.browser.conftest import ROOM, HttpLogin, Join, OpenPanel, asterisk_list

HOST_BUTTONS = ("Lock the room", "Start recording", "End the call")


async def test_an_assistant_sees_no_host_buttons_and_a_forged_host_action_is_refused(
    open_panel: OpenPanel, join: Join, http_login: HttpLogin, service: BridgeService
) -> None:
    caller = await join()
    seen_as = mask_number(caller.caller_id)  # as an assistant sees the number
    page = await open_panel("dana")  # an assistant of the room (tests/data/rooms-e2e.yaml)
    await expect(page.get_by_role("button", name=f"Mute {seen_as}")).to_be_visible()
    await expect(page.get_by_role("button", name="Mute all", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Call on next")).to_be_visible()
    for name in HOST_BUTTONS:
        await expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    await expect(page.get_by_role("button", name=f"Kick {seen_as}")).to_have_count(0)

    # The same page as a host has them all.
    host = await open_panel("alice")
    for name in HOST_BUTTONS:
        await expect(host.get_by_role("button", name=name)).to_be_visible()

    forger = await http_login("dana")
    for action, body in (("kick", {"channel": caller.channel}), ("lock", {}), ("end", {})):
        response = await forger.post_action(ROOM, action, body)
        assert response.status == 403, action
    assert caller.channel in await asterisk_list(service)  # not kicked, the call not ended
    assert not service.switchboard.room(ROOM).locked  # type: ignore[union-attr]
