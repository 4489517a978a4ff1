"""An alert on Asterisk: the ``alert`` FastAGI route an answered callee's channel runs
(``[iobridge-alert]`` in dialplan/extensions.conf). The call out itself (Originate, its
events) is dial-out's (``bridge.asterisk.dialout``); only the dialogue differs.

The callee hears the alert's message; with a room, then "press 1 to join the call now, 2 to
hear this again": 1 joins them to the room as a participant, 2 plays the message again (at
most ``MAX_PLAYS`` times in all), anything else ends the call. As with dial-out, only the
call's id comes from the dialplan: the message and the room come from the service.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bridge.asterisk.agi_channel import AgiChannel, CallerGone
from bridge.asterisk.dialout import JOIN_KEY, call_id_argument
from bridge.asterisk.fastagi import Route
from bridge.asterisk.pin_dialogue import admit_to_room
from bridge.domain.dialout import CallState
from bridge.domain.entry import Admission, Refusal

log = logging.getLogger(__name__)

ALERT_CONTEXT = "iobridge-alert"
AGAIN_KEY = "2"
MAX_PLAYS = 3


@dataclass(frozen=True)
class AlertOffer:
    """What an answered callee of an alert hears: the message (its path without ``.wav``,
    as Asterisk names a sound), and the room they may join (None: the message only)."""

    message: Path
    room: str | None
    key_seconds: float


class AlertDesk(Protocol):
    """What the dialogue asks of the service (``bridge.service.alerts.Alerts``)."""

    def alert_answered(self, call_id: str, channel: str) -> AlertOffer | None: ...

    def heard(self, call_id: str) -> None: ...

    def refused_offer(self, call_id: str, outcome: CallState) -> None: ...

    async def enter_room(self, room: str) -> Admission | Refusal: ...


def alert_route(desk: AlertDesk, sounds: Path) -> Route[str]:
    async def dialogue(agi: AgiChannel, call_id: str) -> None:
        await alert_dialogue(agi, call_id, desk, sounds)

    return Route("alert", call_id_argument, dialogue)


async def alert_dialogue(agi: AgiChannel, call_id: str, desk: AlertDesk, sounds: Path) -> None:
    offer = desk.alert_answered(call_id, agi.channel)
    if offer is None:  # cancelled meanwhile, or not ours
        return
    try:
        for _ in range(MAX_PLAYS):
            await agi.play(str(offer.message))
            desk.heard(call_id)
            if offer.room is None:
                break
            key = await agi.read_digits(
                str(sounds / "alert-press-1-or-2"), int(offer.key_seconds * 1000), 1
            )
            if key == AGAIN_KEY:
                continue
            if key == JOIN_KEY:
                await _join(agi, call_id, offer.room, desk)
                return
            break
        await agi.play("vm-goodbye")
    except CallerGone:
        desk.refused_offer(call_id, CallState.DECLINED)
        raise


async def _join(agi: AgiChannel, call_id: str, room: str, desk: AlertDesk) -> None:
    decision = await desk.enter_room(room)
    if not isinstance(decision, Admission):
        desk.refused_offer(call_id, CallState.FAILED)
        await agi.play("conf-locked", "vm-goodbye")
        return
    await admit_to_room(agi, decision)
    agi.hand_back()
    log.info("alert.admitted call=%s room=%s", call_id, room)
