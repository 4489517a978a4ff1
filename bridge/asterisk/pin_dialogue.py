"""The caller's PIN dialogue on the shared number: the FastAGI route ``entry``.

Asterisk's dialplan hands each call to ``agi://.../entry``, with the address the call came
from and its PJSIP endpoint as arguments (the caller's *source*, ``bridge.domain.sources``);
here the caller hears the PIN prompt, types digits, and is either given a room (channel
variables and ConfBridge profile options, then the dialplan runs ConfBridge) or told why
not. What a PIN means, and whether a prompt may play now, is decided by the service
(``EntryDesk``, with the guard of ``bridge.domain.guard``); this module only talks to the
caller, and waits when the guard says to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bridge.asterisk.agi_channel import AgiChannel, CallerGone
from bridge.asterisk.fastagi import BadArguments, Route
from bridge.asterisk.name_recording import record_name
from bridge.domain.entry import Admission, PinOutcome, Refusal
from bridge.domain.guard import Gate, Hold, Refuse, Source, caller_source
from bridge.domain.sources import host_of
from bridge.domain.trunks import TrunkNumber

log = logging.getLogger(__name__)

PIN_PROMPT = "conf-getpin"
GOODBYE = "vm-goodbye"
ONE_MOMENT = "one-moment-please"  # before a wait the guard imposes, if it is a long one
SAY_WHEN_WAITING = 3.0  # seconds: a shorter wait is silence alone
PIN_TIMEOUT_MS = 8000
MAX_PIN_DIGITS = 12

# What a caller hears for each refusal, in Asterisk's stock English prompts.
REFUSAL_PROMPTS: dict[Refusal, tuple[str, ...]] = {
    Refusal.WRONG_PIN: ("conf-invalidpin",),
    Refusal.NO_PIN: ("please-try-again",),
    Refusal.ROOM_FULL: ("conf-full",),
    Refusal.ROOM_LOCKED: ("conf-locked",),
    Refusal.LOCKED_OUT: ("im-sorry", "please-try-call-later"),
}
# A retired room's PIN is never told apart (the desk answers it as a wrong PIN); refusals
# after which typing another PIN cannot help:
FINAL = frozenset({Refusal.ROOM_FULL, Refusal.ROOM_LOCKED, Refusal.LOCKED_OUT})


class EntryDesk(Protocol):
    """What the dialogue asks of the service (``bridge.service.entry.EntryDesk``)."""

    def call_entered(self, channel: str, source: Source) -> bool: ...

    def dialogue_ended(self, channel: str) -> None: ...

    def gate(
        self,
        source: Source,
        held_for: float = 0.0,
        channel: str = "",
        called_for: str | None = None,
    ) -> Gate: ...

    async def try_pin(
        self,
        source: Source,
        digits: str,
        called_for: str | None = None,
        *,
        caller_id: str = "",
        channel: str = "",
    ) -> PinOutcome: ...

    def no_pin(self, source: Source, called_for: str | None = None) -> None: ...

    def abandon(self, source: Source, called_for: str | None = None) -> None: ...

    async def number_dialled(self, source: Source, dialled: str | None) -> TrunkNumber | None: ...

    async def enter_room(self, room: str) -> Admission | Refusal: ...


class NameDesk(Protocol):
    """Where a caller's recorded name goes (``bridge.service.names.CallerNames``)."""

    folder: Path  # where Asterisk writes the recordings
    sounds: Path  # io-bridge's own prompts

    def name_recorded(self, room: str, channel: str, file: Path) -> None: ...

    def key_before_join(self, room: str, channel: str, caller_id: str, key: str) -> None: ...


async def admit_to_room(agi: AgiChannel, admission: Admission) -> None:
    """Give the dialplan what ConfBridge needs for this caller's room and role.

    One AGI round trip: every variable in one ``EXEC MSet`` (a SET VARIABLE each took eight
    round trips between the caller's last key and the join). MSet splits on commas outside
    parentheses, so ``CONFBRIDGE(user,quiet)=yes`` is one pair; every value here is a slug,
    a profile name or a number (``set_all`` refuses anything else). IOBRIDGE_ROOM, which the
    dialplan tests, is set in the same command as the rest, so it is never seen alone."""
    room = admission.room
    values = {
        "CONFBRIDGE(bridge,template)": "iobridge_room",
        "CONFBRIDGE(bridge,max_members)": str(room.max_participants),
        "CONFBRIDGE(user,template)": admission.user_profile,
        "CONFBRIDGE(user,startmuted)": "yes" if admission.start_muted else "no",
    }
    if admission.quiet:
        # No join/leave sound on the room's playback queue for this caller; see
        # QUIET_FROM_PARTICIPANTS in bridge/domain/entry.py and confbridge.conf.
        values["CONFBRIDGE(user,quiet)"] = "yes"
    # A name (ask_name, announce_names) is recorded by this dialogue (``record_name``),
    # never by ConfBridge's announce_join_leave, which keeps a silent caller ~20 s.
    values["IOBRIDGE_ROLE"] = str(admission.role)
    values["IOBRIDGE_MENU"] = admission.menu
    values["IOBRIDGE_ROOM"] = room.name
    await agi.set_all(values)


@dataclass(frozen=True)
class CallOrigin:
    """The ``entry`` script's arguments: the address the INVITE came from and the PJSIP
    endpoint (``${CHANNEL(pjsip,remote_addr)}``, ``${CHANNEL(endpoint)}``), when the
    dialplan gives them; and on a trunk, the number the trunk asserts (its
    P-Asserted-Identity, else From: ``CALLERID(num)`` with ``trust_id_inbound``); and the
    number dialled (a trunk's DID), which only a trunk's call is routed by."""

    address: str | None
    endpoint: str | None
    asserted: str | None = None
    dialled: str | None = None

    @classmethod
    def of(cls, agi: AgiChannel) -> CallOrigin:
        address = agi.argument(1)
        if address is not None:
            parsed_address(address)
        return cls(address, agi.argument(2), agi.argument(3), agi.argument(4))


def parsed_address(remote_address: str) -> str:
    """``remote_address`` as Asterisk gives it, if it names an IP address: a source that does
    not parse would be counted as nobody's, so the dialogue is refused instead."""
    try:
        ipaddress.ip_address(host_of(remote_address))
    except ValueError:
        raise BadArguments(f"not a source address: {remote_address[:60]!r}") from None
    return remote_address


def entry_route(desk: EntryDesk, attempts: int, names: NameDesk | None = None) -> Route[CallOrigin]:
    """The ``entry`` script: up to ``attempts`` PINs per call, then the caller's name
    where their room asks for it (``names``: the service's; the runtime always gives it,
    a test of the PIN alone may not)."""

    async def dialogue(agi: AgiChannel, origin: CallOrigin) -> None:
        await _entry(agi, origin, desk, attempts, names)

    return Route("entry", CallOrigin.of, dialogue)


async def source_of(agi: AgiChannel, origin: CallOrigin) -> Source:
    """Who this call's wrong PINs count against: from the dialplan's arguments (the address
    the INVITE came from, the PJSIP endpoint), or asked of the channel if it gave none."""
    address, endpoint = origin.address, origin.endpoint
    if address is None or endpoint is None:
        address = parsed_address(await agi.variable("${CHANNEL(pjsip,remote_addr)}"))
        endpoint = await agi.variable("${CHANNEL(endpoint)}")
    asserted = origin.asserted if origin.asserted is not None else agi.caller_id
    return caller_source(address, endpoint, asserted)


async def entry_dialogue(
    agi: AgiChannel, origin: CallOrigin, desk: EntryDesk, attempts: int
) -> Admission | Refusal:
    """Ask for a PIN up to ``attempts`` times, each time when the guard lets the prompt
    play; set the room up on success. A trunk's number that names a room (``called_for``)
    opens that room alone: with its PIN, or without any when the number says so."""
    source = await source_of(agi, origin)
    number = await desk.number_dialled(source, origin.dialled)
    called_for = number.room if number is not None else None
    if not desk.call_entered(agi.channel, source):  # too many calls from its source
        await agi.play(*REFUSAL_PROMPTS[Refusal.LOCKED_OUT], GOODBYE)
        return Refusal.LOCKED_OUT
    if number is not None and number.room is not None and not number.pin_required:
        return await _enter_without_pin(agi, desk, number.room)
    last: Admission | Refusal = Refusal.NO_PIN
    for _ in range(attempts):
        if not await _prompt_allowed(agi, desk, source, agi.channel, called_for):
            await agi.play(*REFUSAL_PROMPTS[Refusal.LOCKED_OUT], GOODBYE)
            return Refusal.LOCKED_OUT
        answered = False
        try:
            digits = await agi.read_digits(PIN_PROMPT, PIN_TIMEOUT_MS, MAX_PIN_DIGITS)
            answered = True
            if not digits:
                desk.no_pin(source, called_for)
                last = Refusal.NO_PIN
            else:
                last = (
                    await desk.try_pin(
                        source, digits, called_for, caller_id=agi.caller_id, channel=agi.channel
                    )
                ).decision
        finally:
            if not answered:
                desk.abandon(source, called_for)  # hung up during the prompt: no guess made
        if isinstance(last, Admission):
            await admit_to_room(agi, last)
            return last
        await agi.play(*REFUSAL_PROMPTS[last])
        if last in FINAL:
            break
    await agi.play(GOODBYE)
    return last


async def _enter_without_pin(agi: AgiChannel, desk: EntryDesk, room: str) -> Admission | Refusal:
    """A trunk's public number: straight into its room, no PIN asked (and none guessed)."""
    decision = await desk.enter_room(room)
    if isinstance(decision, Admission):
        await admit_to_room(agi, decision)
        return decision
    await agi.play(*REFUSAL_PROMPTS.get(decision, REFUSAL_PROMPTS[Refusal.ROOM_LOCKED]), GOODBYE)
    return decision


async def _prompt_allowed(
    agi: AgiChannel, desk: EntryDesk, source: Source, channel: str, called_for: str | None
) -> bool:
    """Wait as the guard says before the next prompt; False if the source is refused. A
    prompt the guard granted must be answered (``try_pin``, ``no_pin``) or abandoned."""
    held = 0.0
    while True:
        gate = desk.gate(source, held, channel, called_for)
        if isinstance(gate, Refuse):
            return False
        if isinstance(gate, Hold):
            if not held:
                await agi.play(ONE_MOMENT)
            await agi.pause(gate.seconds)
            held += gate.seconds
            continue
        break
    try:
        started = asyncio.get_running_loop().time()
        if gate.wait >= SAY_WHEN_WAITING:
            await agi.play(ONE_MOMENT)
        await agi.pause(gate.wait - (asyncio.get_running_loop().time() - started))
    except BaseException:
        desk.abandon(source, called_for)
        raise
    return True


_UNIQUE_ID = re.compile(r"[0-9]+\.[0-9]+")


async def take_name(agi: AgiChannel, room: str, names: NameDesk) -> None:
    """Record the name of a caller admitted to ``room``; hand over the recording and any
    room key pressed meanwhile."""
    unique_id = agi.headers.get("agi_uniqueid", "")
    if not _UNIQUE_ID.fullmatch(unique_id):
        raise BadArguments(f"not a channel's unique id: {unique_id[:40]!r}")
    file = names.folder / f"{room}-{unique_id}"
    started = asyncio.get_running_loop().time()
    key = await record_name(agi, names.sounds, file)
    log.info(
        "agi.name_taken channel=%s room=%s seconds=%.1f key=%s",
        agi.channel,
        room,
        asyncio.get_running_loop().time() - started,
        key,
    )
    names.name_recorded(room, agi.channel, file.with_name(f"{file.name}.wav"))
    if key is not None:
        names.key_before_join(room, agi.channel, agi.caller_id, key)


async def _entry(
    agi: AgiChannel,
    origin: CallOrigin,
    desk: EntryDesk,
    attempts: int,
    names: NameDesk | None,
) -> None:
    try:
        outcome = await entry_dialogue(agi, origin, desk, attempts)
        if isinstance(outcome, Admission) and (
            outcome.room.ask_name or outcome.room.announce_names
        ):
            if names is None:
                raise RuntimeError("the entry route was built without a name desk")
            await take_name(agi, outcome.room.name, names)
        agi.hand_back()  # the caller goes on to their room (or hangs up) before we log
    except CallerGone:
        log.info("agi.entry caller_hung_up channel=%s", agi.channel)
        return
    finally:
        desk.dialogue_ended(agi.channel)
    heard = ",".join(agi.played)  # what the caller was played, prompt by prompt
    if isinstance(outcome, Admission):
        log.info(
            "agi.entry admitted channel=%s room=%s role=%s heard=%s",
            agi.channel,
            outcome.room.name,
            outcome.role,
            heard,
        )
    else:
        log.info(
            "agi.entry refused channel=%s reason=%s heard=%s", agi.channel, outcome.value, heard
        )
