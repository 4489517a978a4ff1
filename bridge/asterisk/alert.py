"""An alert on Asterisk: the ``alert`` FastAGI route an answered callee's channel runs
(``[iobridge-alert]`` in dialplan/extensions.conf). The call out itself (Originate, its
events) is dial-out's (``bridge.asterisk.dialout``); only the dialogue differs.

The callee hears the alert's message; with a room, then the offer in the room's language:
"press 1 to join <the room's title prompt> now, or press 2 to hear this again" (where the
room has no title prompt: "press 1 to join the call now, 2 to hear this again"). 1 joins
them to the room as a participant, 2 plays the message again (at most ``MAX_PLAYS`` times
in all), anything else ends the call. As with dial-out, only the call's id comes from the
dialplan: the message, the room and its title come from the service.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bridge.asterisk.agi_channel import AgiChannel, CallerGone
from bridge.asterisk.dialout import (
    ANY_KEY,
    JOIN_KEY,
    OFFERED_TITLE,
    call_id_argument,
    join_offered_room,
)
from bridge.asterisk.fastagi import Route
from bridge.domain.dialout import CallState
from bridge.domain.entry import Admission, Refusal

log = logging.getLogger(__name__)

ALERT_CONTEXT = "iobridge-alert"
AGAIN_KEY = "2"
MAX_PLAYS = 3
# io-bridge's prompts of the offer (asterisk-config/sounds/<language>/): without the room's
# title prompt, and the two said either side of it.
OFFER_CALL = "alert-press-1-or-2"
OFFER_ROOM = ("alert-press-1-to-join", "alert-now-or-2")


@dataclass(frozen=True)
class AlertOffer:
    """What an answered callee of an alert hears: the message (its path without ``.wav``,
    as Asterisk names a sound), and the room they may join (None: the message only), in
    the room's language and named by its title prompt (None: "the call")."""

    message: Path
    room: str | None
    key_seconds: float
    language: str = ""  # the room's; "" with no room: the channel's own
    title_prompt: str | None = None


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
        offered = [str(sounds / OFFER_CALL)]
        if offer.room is not None:
            await agi.set_all({"CHANNEL(language)": offer.language})
        if offer.title_prompt:
            # Said on the channel too, as dial-out does: what the callee was offered.
            await agi.set_variable(OFFERED_TITLE, offer.title_prompt)
            before, after = (str(sounds / name) for name in OFFER_ROOM)
            offered = [before, offer.title_prompt, after]
        for _ in range(MAX_PLAYS):
            await agi.play(str(offer.message))
            desk.heard(call_id)
            if offer.room is None:
                break
            # Any key ends the offer, even before its end: 1 joins, 2 hears it again.
            key = await agi.ask_key(offered, ANY_KEY, int(offer.key_seconds * 1000))
            if key == AGAIN_KEY:
                continue
            if key == JOIN_KEY:
                await join_offered_room(agi, call_id, offer.room, desk, "alert")
                return
            break
        await agi.play("vm-goodbye")
    except CallerGone:
        desk.refused_offer(call_id, CallState.DECLINED)
        raise
