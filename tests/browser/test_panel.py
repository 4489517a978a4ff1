"""The moderators' panel in a real browser against the real stack: SIPp callers in the
room, moderators' clicks checked against Asterisk's own events, and other moderators'
panels following without a reload."""

from __future__ import annotations

import asyncio
import re

import aiohttp
from playwright.async_api import expect
from sqlalchemy import select

from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.store.models import Call, ModeratorAction
from tests.browser.conftest import ROOM, Join, OpenPanel, asterisk_list, log_in
from tests.support import AmiWatcher, event


async def test_a_moderator_logs_in_sees_their_rooms_and_logs_out(open_panel: OpenPanel) -> None:
    page = await open_panel("alice", "/rooms")
    rooms = page.get_by_role("table")
    await expect(rooms.get_by_role("link", name="Tuesday general assembly")).to_be_visible()
    await expect(rooms.get_by_role("link", name="Short turns")).to_be_visible()
    await expect(rooms.get_by_role("row")).to_have_count(3)  # the header and her two rooms

    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await page.goto("/rooms")
    await expect(page).to_have_url(re.compile(r"/login\?next=(%2F|/)rooms$"))


async def test_a_wrong_password_gets_one_generic_message(open_panel: OpenPanel) -> None:
    page = await open_panel("alice", "/rooms")
    await page.get_by_role("button", name="Log out").click()
    await log_in(page, "alice", "not-her-password")
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    await log_in(page, "nobody-at-all", "not-her-password")
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    assert "not-her-password" not in await page.content()


async def test_a_caller_appears_in_the_roster_live(
    open_panel: OpenPanel, join: Join, service: BridgeService
) -> None:
    page = await open_panel("alice")
    caller = await join()
    # Pushed, not reloaded. How soon is the panel bench's figure (bench/panel_echo.py), not
    # a timed assertion: a one-second limit here failed on a box with both cores busy.
    row = page.get_by_role("row", name=caller.caller_id)
    await expect(row).to_be_visible()
    await expect(row.get_by_role("button", name=f"Mute {caller.caller_id}")).to_be_visible()


async def test_a_mute_in_one_panel_is_asterisks_and_shows_in_the_other(
    open_panel: OpenPanel, join: Join, ami: AmiWatcher, service: BridgeService
) -> None:
    caller = await join()
    alice = await open_panel("alice")
    bob = await open_panel("bob")
    mark = ami.mark()

    await alice.get_by_role("button", name=f"Mute {caller.caller_id}").click()
    await ami.wait_for(event("ConfbridgeMute", Channel=caller.channel), since=mark)
    assert (await asterisk_list(service))[caller.channel]["Muted"] == "Yes"
    # Bob did nothing and reloaded nothing.
    await expect(bob.get_by_role("button", name=f"Unmute {caller.caller_id}")).to_be_visible()
    bob_row = bob.get_by_role("row", name=caller.caller_id)
    await expect(bob_row.get_by_text("Muted", exact=True)).to_be_visible()
    trail = re.compile(rf"^alice muted {caller.caller_id} at \d\d:\d\d:\d\d$")
    await expect(bob.locator("#audit li").first).to_have_text(trail)

    await bob.get_by_role("button", name=f"Unmute {caller.caller_id}").click()
    await ami.wait_for(event("ConfbridgeUnmute", Channel=caller.channel), since=mark)
    await expect(alice.get_by_role("button", name=f"Mute {caller.caller_id}")).to_be_visible()
    await expect(alice.locator("#audit li").first).to_contain_text(
        f"bob unmuted {caller.caller_id} at"
    )

    await service.audit.flushed()  # the rows are written just after the answers
    async with service.db.sessions() as session:
        rows = (
            await session.execute(
                select(ModeratorAction, Call.room_name)
                .join(Call, ModeratorAction.call_id == Call.id)
                .where(ModeratorAction.target_channel == caller.channel)
                .order_by(ModeratorAction.id)
            )
        ).all()
    assert [(a.actor, a.action, a.result, room) for a, room in rows] == [
        ("alice", "mute", "ok", ROOM),
        ("bob", "unmute", "ok", ROOM),
    ]


async def test_a_kick_asks_first_and_then_hangs_up(
    open_panel: OpenPanel, join: Join, ami: AmiWatcher
) -> None:
    await join()  # keeps the room open when the other one leaves
    caller = await join()
    page = await open_panel("alice")
    kick = page.get_by_role("button", name=f"Kick {caller.caller_id}")

    await kick.click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text(f"Kick {caller.caller_id} out of the call?")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(kick).to_be_focused()  # the keyboard is back where it was

    mark = ami.mark()
    await kick.click()
    await dialog.get_by_role("button", name="Kick").click()
    await ami.wait_for(event("ConfbridgeLeave", Channel=caller.channel), since=mark)
    await expect(page.get_by_role("row", name=caller.caller_id)).to_have_count(0)
    await expect(page.locator("#audit li").first).to_contain_text(
        f"alice kicked {caller.caller_id}"
    )
    # Cancelled, the first time: Asterisk saw one leave only.
    assert (
        sum(1 for e in ami.events[mark:] if event("ConfbridgeLeave", Channel=caller.channel)(e))
        == 1
    )


async def test_ending_the_call_asks_first(
    open_panel: OpenPanel, join: Join, ami: AmiWatcher
) -> None:
    caller = await join()
    page = await open_panel("alice")
    mark = ami.mark()
    await page.get_by_role("button", name="End the call").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("End the call for everyone in Tuesday general assembly?")
    await dialog.get_by_role("button", name="Cancel").click()
    # A mute afterwards, as a barrier: Asterisk's events come in order.
    await page.get_by_role("button", name=f"Mute {caller.caller_id}").click()
    await ami.wait_for(event("ConfbridgeMute", Channel=caller.channel), since=mark)
    assert not ami.saw(event("ConfbridgeLeave", Channel=caller.channel), since=mark)


async def test_a_moderator_without_rights_to_the_room_gets_403(open_panel: OpenPanel) -> None:
    page = await open_panel("carol", "/rooms")
    await expect(page.get_by_role("link", name="Tuesday general assembly")).to_have_count(0)
    response = await page.goto(f"/rooms/{ROOM}")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("alert")).to_have_text(f"you may not moderate room '{ROOM}'")


async def test_search_and_sort_find_one_caller_among_many(
    open_panel: OpenPanel, join: Join
) -> None:
    callers = await asyncio.gather(*(join() for _ in range(4)))
    page = await open_panel("bob")
    wanted = callers[2].caller_id
    await page.get_by_label("Search").fill(wanted[-4:])
    await expect(page.locator("#roster-rows tr:not([hidden])")).to_have_count(1)
    await expect(page.get_by_role("row", name=wanted)).to_be_visible()
    await page.get_by_label("Search").fill("")
    await page.get_by_label("Sort by").select_option("name")
    shown = await page.locator("#roster-rows tr th .caller").all_text_contents()
    assert shown == sorted(shown)


async def test_the_admin_tokens_actions_show_in_the_trail_as_admin(
    open_panel: OpenPanel, join: Join, ami: AmiWatcher, runtime_settings: Settings, base_url: str
) -> None:
    caller = await join()
    page = await open_panel("bob")
    mark = ami.mark()
    token = runtime_settings.ensure_admin_token().get_secret_value()
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base_url}/api/v1/rooms/{ROOM}/actions/mute",
            json={"channel": caller.channel},
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status == 200
    await ami.wait_for(event("ConfbridgeMute", Channel=caller.channel), since=mark)
    await expect(page.locator("#audit li").first).to_contain_text(
        f"admin muted {caller.caller_id} at"
    )
