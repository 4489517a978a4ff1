"""Kick and bar: a host kicks a disruptor out and keeps them out; their redial (same
number, or another number from the same address) is turned away, another caller is not."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from bridge.service import BridgeService
from tests.browser.conftest import PIN, ROOM, Join, OpenPanel, phone_number
from tests.integration.conftest import Dial, fresh_loopback
from tests.support import AmiWatcher, event


async def test_a_kicked_and_barred_caller_cannot_dial_back_in(
    open_panel: OpenPanel, join: Join, dial: Dial, ami: AmiWatcher, service: BridgeService
) -> None:
    await join()  # keeps the room's call going
    address = fresh_loopback()
    disruptor = await join(local_ip=address)
    page = await open_panel("alice")
    await page.get_by_role("button", name=f"Kick and bar {disruptor.caller_id}").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("They cannot dial back in until it ends.")
    mark = ami.mark()
    await dialog.get_by_role("button", name="Kick and bar").click()
    await ami.wait_for(event("ConfbridgeLeave", Channel=disruptor.channel), since=mark)
    await expect(page.locator("#audit li").first).to_contain_text(
        f"alice kicked and barred {disruptor.caller_id}"
    )

    # Dialling back: by the same number from elsewhere, by another number from the same
    # address. Both are turned away; a new caller gets in.
    mark = ami.mark()
    again = await dial(PIN, caller_id=disruptor.caller_id, local_ip=fresh_loopback(), stay=30)
    other_number = phone_number()
    disguised = await dial(PIN, caller_id=other_number, local_ip=address, stay=30)
    for caller in (again, disguised):
        assert (await asyncio.wait_for(caller.wait(), 40)).ended_by == "remote"
    assert not ami.saw(event("ConfbridgeJoin", CallerIDNum=disruptor.caller_id), since=mark)
    assert not ami.saw(event("ConfbridgeJoin", CallerIDNum=other_number), since=mark)
    await join()
    assert service.switchboard.room(ROOM) is not None
