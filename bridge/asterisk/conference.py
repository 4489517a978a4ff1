"""ConfBridge over AMI: the actions the bridge takes on a room and the lists it reads.

The service speaks in rooms and channels; this module knows which AMI action does what and
how ConfBridge says "empty". One instance drives one Asterisk; a bridge with several nodes
gives each room the instance of the node it is pinned to.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

from panoramisk.message import Message

from bridge.asterisk import ami_events, announcer, dialout, recorder
from bridge.asterisk.ami import AmiClient
from bridge.domain.breakouts import conference_name, split_conference
from bridge.domain.channels import names_whole_room
from bridge.domain.events import PbxSnapshot, SeenRoom
from bridge.domain.languages import DEFAULT_LANGUAGE
from bridge.errors import ActionRefused, BridgeError, NoSuchParticipant, NoSuchRoom, NotRecording

LIST_TIMEOUT = 10.0  # seconds; a list of a big room is many events


WHISPER = "Local/s@iobridge-whisper/n"  # dialplan/extensions.conf: ChanSpy in whisper mode
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?")  # what passes into Originate
WHISPER_SAY = "iobridge-whisper-say"  # its prompt (then a number: a caller's place)
_WHISPER_SPY = re.compile(r"^Local/s@iobridge-whisper-[0-9a-f]+;2$")  # the half that spies
SPY_ATTACHED = "IOBRIDGE_SPYING"  # set on the half that says the prompt: it may start
LINK_CONTEXT = ami_events.LINK_CONTEXT  # a big room's link
LINK_EXTEN_PREFIX = "iobridge-link-"  # then the room's name
GROUP_CONTEXT = "iobridge-group"  # dialplan/extensions.conf: a breakout group's conference


class WhisperStarts:
    """A whisper's prompt starts once its spy listens, not after a guess.

    ChanSpy answers, waits 100 ms for a key, looks for its target and only then attaches:
    what the other half of its Local channel played before that was lost. A fixed lead of
    0.3 s covered it on a quiet box; on a busy one the member heard "...ou are next". Now
    that half waits for ``IOBRIDGE_SPYING`` (dialplan ``[iobridge-whisper-wait]``), set here
    on Asterisk's ChanSpyStart from one of the bridge's spies, on the link that said it.
    The service gives each of its links one (a bench's or a tool's link needs none), and
    ``start``, which runs the Setvar as one of its tasks (``bridge.service.tasks.Tasks``)."""

    def __init__(
        self, ami: AmiClient, start: Callable[[Coroutine[Any, Any, None]], object]
    ) -> None:
        self._ami = ami
        self._start = start
        ami.watch(self.on_event)

    def on_event(self, message: Message) -> None:
        """Every event of the link passes here: the event's name is looked at first."""
        if message.get("Event") != "ChanSpyStart":
            return
        spy = str(message.get("SpyerChannel", ""))
        if _WHISPER_SPY.match(spy):
            self._start(self._go(spy[:-1] + "1"))

    async def _go(self, say: str) -> None:
        with contextlib.suppress(BridgeError):  # the whisper ended meanwhile: nothing to say
            await self._ami.send(
                {"Action": "Setvar", "Channel": say, "Variable": SPY_ATTACHED, "Value": "1"}
            )


class ConferenceBridge:
    def __init__(self, ami: AmiClient, sounds: Path) -> None:
        self.ami = ami
        self.sounds = sounds  # io-bridge's own prompts (asterisk-config/sounds)

    # ---- one participant ------------------------------------------------------------------

    async def mute(self, room: str, channel: str) -> None:
        await self._on_participant("ConfbridgeMute", room, channel)

    async def unmute(self, room: str, channel: str) -> None:
        await self._on_participant("ConfbridgeUnmute", room, channel)

    async def kick(self, room: str, channel: str) -> None:
        await self._on_participant("ConfbridgeKick", room, channel)

    async def whisper(self, channel: str, prompt: str, place: int | None = None) -> None:
        """Play one of io-bridge's prompts to ``channel`` alone, while it stays in its room:
        a Local channel spies on it in whisper mode and plays the prompt into the whisper
        (followed by ``place`` said as a number, when given), once the spy is attached
        (dialplan/extensions.conf, ``[iobridge-whisper-say]``).
        ConfBridge has no AMI action that plays to one member; this keeps them in the mix.
        The prompt plays in the member's own language (``CHANNEL(language)``, set when they
        were admitted), so Asterisk picks ``sounds/<language>/<prompt>``."""
        variables = f"IOBRIDGE_TARGET={channel},IOBRIDGE_PROMPT={self.sounds / prompt}"
        language = await self._language_of(channel)
        if language:
            variables += f",CHANNEL(language)={language}"
        await self.ami.send(
            {
                "Action": "Originate",
                "Channel": WHISPER,
                "Context": WHISPER_SAY,
                "Exten": "s" if place is None else str(int(place)),
                "Priority": "1",
                "Variable": variables,
                "Async": "true",
            }
        )

    async def _language_of(self, channel: str) -> str:
        """The channel's language, or "" when Asterisk does not say (it left meanwhile)."""
        try:
            reply = await self.ami.send(
                {"Action": "Getvar", "Channel": channel, "Variable": "CHANNEL(language)"}
            )
        except BridgeError:
            return ""
        value = str(reply[0].get("Value", ""))
        return value if _LANGUAGE.fullmatch(value) else ""

    async def dial_out(
        self,
        call_id: str,
        trunk: str,
        number: str,
        caller_id: str | None,
        ring_seconds: float,
        context: str = dialout.DIALOUT_CONTEXT,
    ) -> None:
        """Ring ``number`` through ``trunk``; the callee, once answered, runs ``context``
        (the room's offer, or an alert's message)."""
        await self.ami.send(
            dialout.originate(call_id, trunk, number, caller_id, ring_seconds, context),
            queued=True,
        )

    async def link(self, room: str, endpoint: str) -> None:
        """Join ``room`` here to the same room on the node behind the node-to-node
        ``endpoint``: one call, both of its ends in ``[iobridge-link]`` (dialplan/nodes/
        extensions-nodes.conf), which joins each to its node's conference as a quiet link
        (a big room's cascade, docs/admin.md "Big rooms")."""
        exten = f"{LINK_EXTEN_PREFIX}{room}"
        await self.ami.send(
            {
                "Action": "Originate",
                "Channel": f"PJSIP/{exten}@{endpoint}",
                "Context": LINK_CONTEXT,
                "Exten": exten,
                "Priority": "1",
                "CallerID": "io-bridge link <>",
                "Timeout": "5000",
                "Async": "true",
            }
        )

    async def hang_up(self, channel: str) -> None:
        """End a channel that is not in a room yet (a call out still ringing)."""
        await self.ami.send({"Action": "Hangup", "Channel": channel, "Cause": "16"})

    async def has_channel(self, channel: str) -> bool | None:
        """Whether Asterisk still has ``channel``; None when it cannot say (away, slow)."""
        try:
            await self.ami.send({"Action": "Getvar", "Channel": channel, "Variable": "EPOCH"})
        except ActionRefused as exc:
            return False if "no such channel" in str(exc).lower() else None
        except BridgeError:
            return None
        return True

    async def _on_participant(self, action: str, room: str, channel: str) -> None:
        if names_whole_room(channel):
            raise NoSuchParticipant(room, channel)
        try:
            await self._act(action, room, Channel=channel)
        except NoSuchRoom:
            # ConfBridge says "no conference" for a channel that left a room that then ended.
            raise NoSuchParticipant(room, channel) from None

    # ---- the whole room ---------------------------------------------------------------------

    async def mute_participants(self, room: str) -> None:
        """Everyone but the moderators (ConfBridge's 'participants')."""
        await self._act("ConfbridgeMute", room, Channel="participants")

    async def unmute_participants(self, room: str) -> None:
        await self._act("ConfbridgeUnmute", room, Channel="participants")

    async def kick_everyone(self, room: str) -> None:
        await self._act("ConfbridgeKick", room, Channel="all")

    async def lock(self, room: str) -> None:
        await self._act("ConfbridgeLock", room)

    async def unlock(self, room: str) -> None:
        await self._act("ConfbridgeUnlock", room)

    async def start_recording(self, room: str, path: Path) -> None:
        """Send the bridge's recorder into the room; it records into ``path`` (whose name
        is ``<room>-<stamp>.wav``: see ``recorder``)."""
        try:
            await self.ami.send(recorder.start_action(path.stem), recorder.ANSWER_WITHIN_S)
        except ActionRefused:
            # The dialplan refused it: the room emptied, or a recorder got there first.
            raise ActionRefused(f"room '{room}' cannot be recorded now") from None

    async def stop_recording(self, room: str) -> None:
        if not recorder.hung_up_any(await self.ami.send(recorder.stop_action(room))):
            raise NotRecording(room)

    async def announce(self, room: str, what: str, language: str = DEFAULT_LANGUAGE) -> None:
        """Play announcement ``what`` to everyone in ``room``, in ``language`` (see
        ``announcer``)."""
        await self.ami.send(announcer.announce_action(room, what, language))

    async def play_cue(
        self, room: str, file: str, loops: bool, language: str = DEFAULT_LANGUAGE
    ) -> None:
        """Play ``file`` (a path without its extension) to everyone in ``room``, after
        stopping whatever cue still plays there (see ``announcer``)."""
        await self.ami.send(announcer.silence_action(room))
        await self.ami.send(announcer.cue_action(room, file, loops, language))

    async def announce_name(
        self, room: str, file: str, joined: bool, language: str = DEFAULT_LANGUAGE
    ) -> None:
        """Play a caller's recorded name (``file``, a path without its extension) to
        everyone in ``room``, followed by "has joined" or "has left" (see ``announcer``)."""
        await self.ami.send(announcer.name_action(room, file, joined, language))

    async def announce_count(
        self, room: str, joined: int, left: int, language: str = DEFAULT_LANGUAGE
    ) -> None:
        """Say to everyone in ``room`` how many callers joined and left (names folded)."""
        await self.ami.send(announcer.name_count_action(room, joined, left, language))

    async def move(self, room: str, channel: str, group: str | None) -> None:
        """Take ``channel`` out of its conference into breakout ``group``'s (None: back to its
        room's) with AMI Redirect: the call goes on (dialplan ``iobridge-group``)."""
        if names_whole_room(channel):
            raise NoSuchParticipant(room, channel)
        await self.ami.send(
            {
                "Action": "Redirect",
                "Channel": channel,
                "Context": GROUP_CONTEXT,
                "Exten": group or "main",
                "Priority": "1",
            }
        )

    async def hold_open(self, room: str) -> None:
        """Keep ``room``'s own conference from ending for a while, whoever leaves it (see
        ``announcer.hold_action``): before a breakout moves everyone out."""
        await self.ami.send(announcer.hold_action(room))

    async def play_to_group(self, room: str, group: str, prompt: str) -> None:
        """Play one of io-bridge's prompts to everyone in breakout ``group`` (the announcer,
        as a cue is played to a room)."""
        conference = conference_name(room, group)
        await self.ami.send(announcer.cue_action(conference, str(self.sounds / prompt), False))

    async def broadcast(self, room: str, groups: list[str], on: bool) -> None:
        """The main room heard in every group (``on``), or no longer: one Local channel per
        group (see ``announcer.broadcast_action``)."""
        if not on:
            await self.ami.send(announcer.broadcast_stop_action(room))
            return
        for group in groups:
            await self.ami.send(announcer.broadcast_action(room, conference_name(room, group)))

    async def _act(self, action: str, room: str, **fields: str) -> None:
        await self.ami.send({"Action": action, "Conference": room, **fields})

    # ---- what Asterisk holds --------------------------------------------------------------

    async def is_locked(self, room: str) -> bool | None:
        """The room's lock as Asterisk holds it now (ConfBridge sends no event for it);
        None when the room is not live."""
        for name, locked in ami_events.seen_rooms(await self._list("ConfbridgeListRooms")):
            if name == room:
                return locked
        return None

    async def snapshot(self) -> PbxSnapshot:
        """Every live room with its participants, and every channel Asterisk has."""
        rooms: dict[str, SeenRoom] = {}
        for name, locked in ami_events.seen_rooms(await self._list("ConfbridgeListRooms")):
            people = await self._list("ConfbridgeList", Conference=name)
            room, group = split_conference(name)  # a breakout group's people are the room's
            seen = rooms.get(room, SeenRoom(room, False))
            rooms[room] = replace(
                seen,
                locked=seen.locked or (locked and group is None),
                participants=seen.participants + ami_events.seen_participants(people, group),
                recording=seen.recording or ami_events.has_recorder(people),
                links=seen.links + (ami_events.seen_links(people) if group is None else ()),
            )
        channels = await self._list("CoreShowChannels")
        alive = tuple(
            str(c.get("Channel", "")) for c in channels if c.get("Event") == "CoreShowChannel"
        )
        return PbxSnapshot(tuple(rooms.values()), alive)

    async def _list(self, action: str, **fields: str) -> list[Message]:
        try:
            return await self.ami.send({"Action": action, **fields}, timeout=LIST_TIMEOUT)
        except NoSuchRoom:
            return []  # "No active conferences." is Asterisk's way of saying: an empty list
