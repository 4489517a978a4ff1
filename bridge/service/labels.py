"""The labels moderators give callers, per room, for the rest of the runtime: shown in the
roster, the stack and the speaker box (the live-room view's ``names``), in the API and in
``stack show --json`` (``"name"`` beside ``caller_id``)."""

from __future__ import annotations

from collections.abc import Callable

from bridge.domain.labels import BadLabel, CallerMarked, RoomLabels
from bridge.domain.roster import Switchboard
from bridge.errors import BadField, NoSuchParticipant


class CallerLabels:
    def __init__(
        self, switchboard: Switchboard, publish: Callable[[str, CallerMarked], None]
    ) -> None:
        self.switchboard = switchboard
        self._publish = publish
        self._rooms: dict[str, RoomLabels] = {}

    def give(self, room: str, channel: str, text: str) -> str:
        """Label the caller on ``channel`` (an empty text takes the label away)."""
        live = self.switchboard.room(room)
        person = live.participants.get(channel) if live else None
        if person is None:
            raise NoSuchParticipant(room, channel)
        try:
            label = self._rooms.setdefault(room, RoomLabels()).give(person.caller_id, channel, text)
        except BadLabel as exc:
            raise BadField(f"label: {exc}") from None
        self._publish(room, CallerMarked(room))
        return label

    def name_of(self, room: str, caller_id: str, channel: str) -> str:
        labels = self._rooms.get(room)
        return labels.of(caller_id, channel) if labels else ""
