"""Dial-out on Asterisk: the Originate that rings a number through a trunk, the AMI events
that say how it went, and the ``dialout`` FastAGI route the callee's channel runs once
answered (``[iobridge-dialout]`` in dialplan/extensions.conf).

The call's id is also its channel's unique id (Originate's ``ChannelId``), so a
``Newchannel``, ``Hangup`` or ``OriginateResponse`` names its call without a lookup table
in Asterisk. The dialogue takes only that id from the dialplan: what to offer the callee
and which room they may join come from the service, never from the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bridge.asterisk.agi_channel import AgiChannel, CallerGone
from bridge.asterisk.fastagi import BadArguments, Route
from bridge.asterisk.pin_dialogue import admit_to_room
from bridge.domain.dialout import CallState
from bridge.domain.entry import Admission, Refusal
from bridge.domain.languages import DEFAULT_LANGUAGE

log = logging.getLogger(__name__)

DIALOUT_CONTEXT = "iobridge-dialout"
CALL_ID_PREFIX = "dial-"
JOIN_KEY = "1"
ANY_KEY = "0123456789*#"
OFFERED_TITLE = "IOBRIDGE_OFFERED_TITLE"  # the title prompt the callee heard


@dataclass(frozen=True)
class CalleeChannel:
    """The callee's channel exists (Newchannel): its name, to hang it up by."""

    call_id: str
    channel: str


@dataclass(frozen=True)
class CalleeHungUp:
    call_id: str
    cause: int | None


@dataclass(frozen=True)
class OriginateEnded:
    """Asterisk's answer to the Originate: answered (``success``), or not and why."""

    call_id: str
    success: bool
    reason: int | None


DialEvent = CalleeChannel | CalleeHungUp | OriginateEnded


def _number(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def dial_event(message: Mapping[str, Any]) -> DialEvent | None:
    """An AMI event about a call out, or None for every other event."""
    call_id = str(message.get("Uniqueid", ""))
    if not call_id.startswith(CALL_ID_PREFIX):
        return None
    name = message.get("Event")
    if name == "Newchannel":
        return CalleeChannel(call_id, str(message.get("Channel", "")))
    if name == "Hangup":
        return CalleeHungUp(call_id, _number(message.get("Cause")))
    if name == "OriginateResponse":
        success = str(message.get("Response", "")).lower() == "success"
        return OriginateEnded(call_id, success, _number(message.get("Reason")))
    return None


def originate(
    call_id: str,
    trunk: str,
    number: str,
    caller_id: str | None,
    ring_seconds: float,
    context: str = DIALOUT_CONTEXT,
) -> dict[str, str]:
    """The AMI action that rings ``number`` through ``trunk``'s endpoint; once answered the
    callee's channel runs ``context``: ``[iobridge-dialout]`` (the offer of a room) or
    ``[iobridge-alert]`` (an alert's message)."""
    action = {
        "Action": "Originate",
        "Channel": f"PJSIP/{number}@{trunk}",
        "Context": context,
        "Exten": "s",
        "Priority": "1",
        "Timeout": str(int(ring_seconds * 1000)),
        "ChannelId": call_id,
        "Variable": f"IOBRIDGE_DIALOUT={call_id}",
        "Async": "true",
    }
    if caller_id:
        action["CallerID"] = f"<{caller_id}>"
    return action


@dataclass(frozen=True)
class Offer:
    """What an answered callee is offered: the room's title, and whether they must press 1
    (``confirm``) before they join."""

    room: str
    title: str
    confirm: bool
    key_seconds: float  # how long the callee has to press 1
    language: str = DEFAULT_LANGUAGE  # the room's: every prompt of the offer is in it
    # The room's title as a prompt (bridge.asterisk.title_prompts); None: "a conference call".
    title_prompt: str | None = None


class DialDesk(Protocol):
    """What the dialogue asks of the service (``bridge.service.dialout.DialOut``)."""

    def answered(self, call_id: str, channel: str) -> Offer | None: ...

    def refused_offer(self, call_id: str, outcome: CallState) -> None: ...

    async def enter_room(self, room: str) -> Admission | Refusal: ...


class RoomDesk(Protocol):
    """What joining an offered room asks of the service (a dial-out's or an alert's)."""

    def refused_offer(self, call_id: str, outcome: CallState) -> None: ...

    async def enter_room(self, room: str) -> Admission | Refusal: ...


async def join_offered_room(
    agi: AgiChannel, call_id: str, room: str, desk: RoomDesk, kind: str
) -> None:
    """A callee who pressed 1: into ``room`` as the entry admits anyone, or told it is
    closed (locked, full) and the call out marked failed."""
    decision = await desk.enter_room(room)
    if not isinstance(decision, Admission):
        desk.refused_offer(call_id, CallState.FAILED)
        await agi.play("conf-locked", "vm-goodbye")
        return
    await admit_to_room(agi, decision, hand_back=True)
    agi.hand_back()
    log.info("%s.admitted call=%s room=%s", kind, call_id, room)


def call_id_argument(agi: AgiChannel) -> str:
    """The call out's id, the route's one argument (a dial-out's or an alert's)."""
    call_id = agi.argument(1) or ""
    if (
        not call_id.startswith(CALL_ID_PREFIX)
        or not call_id[len(CALL_ID_PREFIX) :].replace("-", "").isalnum()
    ):
        raise BadArguments(f"not a call out's id: {call_id[:40]!r}")
    return call_id


def dialout_route(desk: DialDesk, sounds: Path) -> Route[str]:
    async def dialogue(agi: AgiChannel, call_id: str) -> None:
        await offer_dialogue(agi, call_id, desk, sounds)

    return Route("dialout", call_id_argument, dialogue)


async def offer_dialogue(agi: AgiChannel, call_id: str, desk: DialDesk, sounds: Path) -> None:
    """The callee picked up: with ``confirm``, "You are being called into <the room's
    title>, press 1 to join" in the room's language ("... a conference call" where the
    room has no title prompt); 1 joins them to the room as a participant, anything else
    (or nothing within the offer's ``key_seconds``) ends the call."""
    offer = desk.answered(call_id, agi.channel)
    if offer is None:  # cancelled meanwhile, or not ours
        return
    try:
        if offer.confirm:
            await agi.set_all({"CHANNEL(language)": offer.language})
            offered = [str(sounds / "dialout-called-into")]
            if offer.title_prompt:
                # Said on the channel too: what the callee was offered, for whoever looks.
                await agi.set_variable(OFFERED_TITLE, offer.title_prompt)
                offered = [str(sounds / "dialout-called-into-room"), offer.title_prompt]
            # Any key ends the offer, even before its end: 1 joins, another declines.
            key = await agi.ask_key(
                [*offered, str(sounds / "dialout-press-1")], ANY_KEY, int(offer.key_seconds * 1000)
            )
            if key != JOIN_KEY:
                desk.refused_offer(call_id, CallState.DECLINED if key else CallState.NO_ANSWER)
                await agi.play("vm-goodbye")
                log.info("dialout.offer_refused call=%s key=%s", call_id, key or "none")
                return
        await join_offered_room(agi, call_id, offer.room, desk, "dialout")
    except CallerGone:
        desk.refused_offer(call_id, CallState.DECLINED)
        raise
