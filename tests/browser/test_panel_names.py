"""A caller's recorded name on the panel: "Play name 5550123" on their roster row plays it
in the moderator's browser alone (an assistant too), fetched from the bridge with the
moderator's session."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.async_api import expect

from bridge.domain.privacy import mask_number
from bridge.service import BridgeService
from tests.browser.conftest import ROOM, Join, OpenPanel

SAID = Path(__file__).resolve().parents[2] / "asterisk-config" / "sounds" / "en" / "name-prompt.wav"


async def test_play_name_on_the_roster_plays_the_caller_s_recording(
    open_panel: OpenPanel, join: Join, service: BridgeService, tmp_path: Path
) -> None:
    named, unnamed = await join(), await join()
    file = tmp_path / f"{ROOM}-1765000000.7.wav"
    shutil.copy(SAID, file)  # stands in for what the caller said at entry
    service.names.name_recorded(ROOM, named.channel, file)

    page = await open_panel("dana")  # an assistant of the room
    play = page.get_by_role("button", name=f"Play name {mask_number(named.caller_id)}")
    await expect(play).to_be_visible()
    await expect(
        page.get_by_role("button", name=f"Play name {mask_number(unnamed.caller_id)}")
    ).to_have_count(0)
    async with page.expect_response(lambda r: "/name?channel=" in r.url) as answered:
        await play.click()
    response = await answered.value
    assert response.status in (200, 206)  # the media element asks for a range
    assert response.headers["content-type"] == "audio/wav"
