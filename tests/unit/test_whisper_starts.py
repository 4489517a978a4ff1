"""A whisper's prompt starts when its spy listens: on ChanSpyStart from one of the bridge's
whisper spies, the other half of its Local channel is told so (a Setvar on that link).
End to end, on the real Asterisk: tests/integration/test_speaker_stack.py (the head of the
stack hears all of "you are next")."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from panoramisk.message import Message

from bridge.asterisk.ami import AmiClient, EventSink
from bridge.asterisk.conference import SPY_ATTACHED, WhisperStarts
from bridge.errors import BridgeError
from bridge.service.tasks import Tasks

TASKS = Tasks(logging.getLogger(__name__), "whisper.start_failed")


class Link:
    """What WhisperStarts uses of an AMI link: its events, and the actions sent on it."""

    def __init__(self, refuse: bool = False) -> None:
        self.sinks: list[EventSink] = []
        self.sent: list[dict[str, str]] = []
        self.refuse = refuse

    def watch(self, sink: EventSink) -> None:
        self.sinks.append(sink)

    async def send(self, action: dict[str, str], timeout: float | None = None) -> list[Any]:
        self.sent.append(action)
        if self.refuse:
            raise BridgeError("No such channel")
        return []

    def hear(self, **fields: str) -> None:
        for sink in self.sinks:
            sink(cast(Message, fields))


async def test_a_whisper_spy_attached_lets_its_prompt_start_on_the_same_link() -> None:
    link = Link()
    WhisperStarts(cast(AmiClient, link), TASKS.start)
    link.hear(Event="ChanSpyStart", SpyerChannel="Local/s@iobridge-whisper-0000002a;2")
    await asyncio.sleep(0)
    assert link.sent == [
        {
            "Action": "Setvar",
            "Channel": "Local/s@iobridge-whisper-0000002a;1",
            "Variable": SPY_ATTACHED,
            "Value": "1",
        }
    ]


async def test_another_spy_or_event_is_none_of_its_business() -> None:
    link = Link()
    WhisperStarts(cast(AmiClient, link), TASKS.start)
    link.hear(Event="ChanSpyStart", SpyerChannel="PJSIP/supervisor-00000001")
    link.hear(Event="ChanSpyStart", SpyerChannel="Local/s@iobridge-whisper-0000002a;1")
    link.hear(Event="Newchannel", Channel="Local/s@iobridge-whisper-0000002a;2")
    await asyncio.sleep(0)
    assert link.sent == []


async def test_a_whisper_gone_meanwhile_is_no_error() -> None:
    link = Link(refuse=True)
    WhisperStarts(cast(AmiClient, link), TASKS.start)
    link.hear(Event="ChanSpyStart", SpyerChannel="Local/s@iobridge-whisper-0000002b;2")
    for _ in range(3):
        await asyncio.sleep(0)
    assert len(link.sent) == 1  # tried once, refused, nothing raised or retried
