"""The stack section, held to the speaker stack's contract before the stack itself lands.

A stand-in, and why: the stack (issue 10) is being built elsewhere. What the panel owes it
is checked here from both ends: the snapshot shape in (``state.stack_snapshot``, replaced
by a stand-in that keeps a small stack in memory), and the actions out, dispatched
generically through the shared table (stand-in stack actions with the CLI's argument
order). Once the stack lands, the stand-ins go and the `*9` / `Call on next` tests run
against the real one (see docs/moderator.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from playwright.async_api import expect
from pydantic import BaseModel, ConfigDict

from bridge.actions import ROOM_ACTIONS, NoArguments, OnParticipant, RoomAction
from bridge.domain.rooms import RoomSpec
from bridge.web.panel import actions as panel_actions
from bridge.web.panel import state
from tests.browser.conftest import ROOM, Join, OpenPanel


class Move(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str
    place: int


class Priority(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str
    setting: Literal["on", "off"]


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: Literal["fifo", "progressive"]


class StandInStack:
    """Just enough of a stack to answer the panel: a queue, a speaker, the calls made."""

    def __init__(self) -> None:
        self.speaker: dict[str, Any] | None = None
        self.queue: list[dict[str, Any]] = []
        self.policy = "progressive"
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def snapshot(self, room: str) -> dict[str, Any]:
        queue = [{**entry, "place": n} for n, entry in enumerate(self.queue, start=1)]
        return {"room": room, "policy": self.policy, "speaker": self.speaker, "queue": queue}

    def action(self, name: str, arguments: type[BaseModel]) -> RoomAction:
        async def run(service: Any, room: str, args: BaseModel) -> None:
            self.calls.append((name, args.model_dump()))
            if name == "next":
                head = self.queue.pop(0)
                self.speaker = {
                    "channel": head["channel"], "caller_id": head["caller_id"],
                    "lane": head["lane"], "started_at": time.time(), "seconds_left": 120,
                }  # fmt: skip

        return RoomAction(name, f"stand-in {name}", arguments, run)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInStack]:
    stack = StandInStack()

    def snapshot(service: Any, room: RoomSpec) -> dict[str, Any]:
        return stack.snapshot(room.name) if room.name == ROOM else state_empty(room)

    state_empty = state.stack_snapshot
    table = {
        **ROOM_ACTIONS,
        **{
            name: stack.action(name, model)
            for name, model in (
                ("next", NoArguments), ("call", OnParticipant), ("end-turn", NoArguments),
                ("move", Move), ("remove", OnParticipant), ("priority", Priority),
                ("policy", Policy),
            )
        },
    }  # fmt: skip
    monkeypatch.setattr(state, "stack_snapshot", snapshot)
    monkeypatch.setattr(panel_actions, "panel_actions", lambda: table)
    yield stack


def entry(who: Any, lane: str, reason: str, priority: bool = False) -> dict[str, Any]:
    return {
        "channel": who.channel, "caller_id": who.caller_id, "lane": lane, "reason": reason,
        "priority": priority,
    }  # fmt: skip


async def test_the_stack_section_draws_lanes_reasons_and_the_speakers_clock(
    open_panel: OpenPanel, join: Join, stand_in: StandInStack
) -> None:
    speaker, first, second, third = await asyncio.gather(*(join() for _ in range(4)))
    stand_in.speaker = {
        "channel": speaker.channel, "caller_id": speaker.caller_id, "lane": "stack",
        "started_at": time.time() - 65, "seconds_left": 10,
    }  # fmt: skip
    stand_in.queue = [
        entry(first, "process", "point of process"),
        entry(second, "stack", "has not spoken yet", priority=True),
        entry(third, "stack", "2 turns"),
    ]
    page = await open_panel("alice")

    speaking = page.locator("#speaker")
    await expect(speaking).to_contain_text(speaker.caller_id)
    await expect(speaking).to_contain_text("for 1:0")
    await expect(speaking).to_contain_text("left (limit warning)")
    await expect(speaking).to_have_attribute("data-warning", "yes")
    lanes = page.locator("#lanes")
    await expect(lanes.get_by_role("heading", name="Point of process (1)")).to_be_visible()
    await expect(lanes.get_by_role("heading", name="Direct response (0)")).to_be_visible()
    await expect(lanes.get_by_role("heading", name="Stack (2)")).to_be_visible()
    stack_lane = lanes.locator('[data-lane="stack"] li')
    await expect(stack_lane.nth(0)).to_contain_text(f"2.{second.caller_id}")
    await expect(stack_lane.nth(0)).to_contain_text("has not spoken yet")
    await expect(stack_lane.nth(0)).to_contain_text("Priority")
    await expect(stack_lane.nth(1)).to_contain_text("2 turns")
    await expect(page.get_by_role("button", name=f"Move up {second.caller_id}")).to_be_disabled()
    await expect(page.get_by_role("button", name="Progressive")).to_have_attribute(
        "aria-pressed", "true"
    )


async def test_call_on_next_and_the_n_key_run_the_tables_next_and_announce_the_speaker(
    open_panel: OpenPanel, join: Join, stand_in: StandInStack
) -> None:
    first, second = await asyncio.gather(join(), join())
    stand_in.queue = [entry(first, "stack", "has not spoken yet")]
    stand_in.queue.append(entry(second, "stack", "1 turn"))
    alice = await open_panel("alice")
    bob = await open_panel("bob")

    await alice.get_by_role("button", name="Call on next").click()
    await expect(alice.locator("#speaker")).to_contain_text(first.caller_id)
    await expect(bob.locator("#speaker-announcer")).to_have_text(f"Now speaking: {first.caller_id}")
    await expect(bob.locator("#audit li").first).to_contain_text("alice called on the next speaker")

    await bob.keyboard.press("n")
    await expect(alice.locator("#speaker-announcer")).to_have_text(
        f"Now speaking: {second.caller_id}"
    )
    await alice.get_by_label("Search").press("n")  # typing in the search box calls no one
    assert [name for name, _ in stand_in.calls] == ["next", "next"]


async def test_stack_buttons_send_their_arguments_in_the_clis_order(
    open_panel: OpenPanel, join: Join, stand_in: StandInStack
) -> None:
    first, second = await asyncio.gather(join(), join())
    stand_in.queue = [entry(first, "stack", "has not spoken yet"), entry(second, "stack", "")]
    page = await open_panel("bob")
    await page.get_by_role("button", name=f"Move down {first.caller_id}").click()
    await page.get_by_role("button", name=f"Priority {second.caller_id}").click()
    await page.get_by_role("button", name="FIFO").click()
    await page.get_by_role("button", name=f"Call on {first.caller_id}").first.click()
    await expect(page.locator("#audit li").first).to_contain_text(
        f"bob called on {first.caller_id}"
    )
    assert stand_in.calls == [
        ("move", {"channel": first.channel, "place": 2}),
        ("priority", {"channel": second.channel, "setting": "on"}),
        ("policy", {"policy": "fifo"}),
        ("call", {"channel": first.channel}),
    ]
