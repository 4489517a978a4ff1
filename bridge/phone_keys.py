"""A moderator's keypad: who joined with the moderator PIN runs the essentials from the
phone. ConfBridge's moderator menu sends ``*5`` (next speaker), ``*4`` (mute everyone but
the moderators), ``*3`` (lock, or unlock a locked room) and ``*2`` (how many are on the
stack) to the ``keys`` FastAGI route like any key; here they become the same action-table
entries the panel and the API run, through the same ``perform`` (rights, audit, metrics),
as a phone principal named after the caller ID ("5550123 (phone)", or "phone moderator").
Every other key goes on to the room's keys (``bridge.service.keys``).

Above the service and the actions (it joins the FastAGI keypad to the action table), so it
lives beside the runtime, which wires it."""

from __future__ import annotations

import logging

from bridge.actions import ACTIONS, perform
from bridge.actions.arguments import NoArguments
from bridge.asterisk.keypad import Answer
from bridge.domain.accounts import Principal, Via
from bridge.domain.bars import ANONYMOUS
from bridge.domain.events import Role
from bridge.errors import BridgeError
from bridge.service import BridgeService

log = logging.getLogger(__name__)

MODERATOR_KEYS = frozenset({"next", "muteall", "lock", "stacklength"})


def phone_actor(caller_id: str) -> str:
    """How the audit trail names a moderator acting from the keypad."""
    number = caller_id.strip()
    return "phone moderator" if number.lower() in ANONYMOUS else f"{number[:50]} (phone)"


class PhoneKeypad:
    def __init__(self, service: BridgeService) -> None:
        self.service = service

    def answered(self, channel: str) -> None:
        self.service.keys.answered(channel)

    async def key_pressed(self, room: str, channel: str, caller_id: str, key: str) -> Answer:
        self.service.keys.opened(channel)  # the caller waits in the dialplan for the answer
        if key not in MODERATOR_KEYS:
            return await self.service.keys.key_pressed(room, channel, caller_id, key)
        live = self.service.switchboard.room(room)
        person = live.participants.get(channel) if live else None
        if person is None or person.role is not Role.MODERATOR:
            # Only the moderator menu has these keys; a participant never gets this far.
            log.warning("phone_keys.refused room=%s channel=%s key=%s", room, channel, key)
            return Answer("key_not_available")
        if key == "stacklength":
            shown = self.service.speakers.snapshot(room)
            return Answer("stack_length", len(shown["queue"]) if shown else 0)
        name = {"next": "next", "muteall": "mute-all"}.get(key) or (
            "unlock" if live is not None and live.locked else "lock"
        )
        principal = Principal(phone_actor(caller_id), rooms=frozenset({room}), via=Via.PHONE)
        try:
            await perform(self.service, principal, room, ACTIONS[name], NoArguments())
        except BridgeError as exc:
            log.info("phone_keys.failed room=%s key=%s code=%s", room, key, exc.code)
            return Answer("nobody_waiting" if name == "next" else "key_not_available")
        return Answer(
            {"next": "next_called", "mute-all": "all_muted", "lock": "room_locked_now"}.get(
                name, "room_unlocked_now"
            )
        )
