"""Names and places on the panel: a moderator labels a caller from the roster, and the
label shows in the roster, the stack and the speaker box, escaped; "Add to stack" on a
roster row puts the caller on the stack."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from playwright.async_api import expect
from sqlalchemy import select

from bridge.domain.privacy import mask_number
from bridge.service import BridgeService
from bridge.store.models import Leg
from tests.browser.conftest import ROOM, HttpLogin, Join, OpenPanel, press
from tests.support import keypad_answers

LABEL = "Alex <b>&amp;</b>, Occupy Oakland"  # markup in a label is text, never markup

HIGHLIGHTED = re.compile(r"\bhighlighted\b")


async def test_a_label_given_on_the_roster_shows_in_roster_stack_and_speaker_box(
    open_panel: OpenPanel, join: Join, service: BridgeService, http_login: HttpLogin
) -> None:
    caller = await join()
    seen_as = mask_number(caller.caller_id)  # as an assistant sees the number
    page = await open_panel("dana")  # an assistant may label and run the stack
    await page.get_by_role("button", name=f"Label {seen_as}").click()
    await page.get_by_role("textbox", name=f"Label for {seen_as}").fill(LABEL)
    await page.get_by_role("button", name="Save label").click()
    row = page.get_by_role("row", name=seen_as)
    await expect(row.locator(".caller-label")).to_have_text(LABEL)
    assert await page.locator("#roster-rows b").count() == 0
    await expect(page.locator("#audit li").first).to_contain_text(f"dana labelled {seen_as}")

    await page.get_by_role("button", name=f"Add to stack {seen_as}").click()
    await expect(page.locator("#lanes .entry-name")).to_have_text(f"{LABEL} ({seen_as})")
    await page.get_by_role("button", name="Call on next").click()
    await expect(page.locator("#speaker .speaker-name")).to_have_text(f"{LABEL} ({seen_as})")
    # Searching the roster finds the caller by label.
    await page.get_by_label("Search").fill("oakland")
    await expect(row).to_be_visible()

    # A label over 80 characters or with a control character is refused; nothing changes.
    forger = await http_login("dana")
    for bad in ("x" * 81, "Alex\nOakland"):
        answer = await forger.post_action(ROOM, "label", {"channel": caller.channel, "label": bad})
        assert answer.status == 400
    speaker = service.speakers.snapshot(ROOM)
    assert speaker is not None
    async with aiohttp.ClientSession() as http:
        token = (await service.tokens.create("dana")).token
        async with http.get(
            f"{forger.base_url}/api/v1/rooms/{ROOM}", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            state = await response.json()
    (person,) = [p for p in state["participants"] if p["channel"] == caller.channel]
    assert person["name"] == LABEL
    assert state["stack"]["speaker"]["name"] == LABEL
    # Kept on the caller's leg of this call: the call's report, CSV and chart show it.
    await service.labels.flushed()
    async with service.db.sessions() as session:
        kept = set(await session.scalars(select(Leg.label).where(Leg.channel == caller.channel)))
    assert kept == {LABEL}


async def test_unmute_all_asks_first_and_a_stack_entry_shows_its_roster_row(
    open_panel: OpenPanel, join: Join, service: BridgeService
) -> None:
    first, second = await join(), await join()
    page = await open_panel("alice")
    await page.get_by_role("button", name="Unmute all").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Every microphone opens at once.")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#audit li").filter(has_text="unmuted everyone")).to_have_count(0)

    await page.get_by_role("button", name=f"Add to stack {second.caller_id}").click()
    entry = page.locator("#lanes").get_by_role("button", name=second.caller_id, exact=True)
    await entry.click()
    row = page.get_by_role("row", name=second.caller_id)
    # A row has other classes too (has-hand: the roster marks who waits on the stack).
    await expect(row).to_have_class(HIGHLIGHTED)
    await expect(page.get_by_role("row", name=first.caller_id)).not_to_have_class(HIGHLIGHTED)


async def test_pause_keys_makes_a_callers_keys_do_nothing_until_resumed(
    open_panel: OpenPanel, join: Join, service: BridgeService
) -> None:
    caller = await join(later_keys=("*9", "*9"))
    seen_as = mask_number(caller.caller_id)  # as an assistant sees the number
    page = await open_panel("dana")
    await page.get_by_role("button", name=f"Pause keys {seen_as}").click()
    resume = page.get_by_role("button", name=f"Resume keys {seen_as}")
    await expect(resume).to_be_visible()

    answers = keypad_answers()
    mark = answers.mark()
    await press(service, caller, "*9")
    assert answers.said(caller.channel, since=mark) == "keys_paused"
    assert caller.channel not in queue(await service.speakers.show(ROOM))

    await resume.click()
    await expect(page.get_by_role("button", name=f"Pause keys {seen_as}")).to_be_visible()
    mark = answers.mark()
    await press(service, caller, "*9")
    assert answers.said(caller.channel, since=mark) == "hand_raised"
    assert caller.channel in queue(await service.speakers.show(ROOM))
    await expect(page.locator("#audit li").first).to_contain_text(f"dana set the keys of {seen_as}")


def queue(shown: dict[str, Any]) -> list[str]:
    return [entry["channel"] for entry in shown["queue"]]
