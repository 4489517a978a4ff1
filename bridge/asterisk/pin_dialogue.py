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
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bridge.asterisk.agi_channel import AgiChannel, CallerGone
from bridge.asterisk.fastagi import BadArguments, Route
from bridge.asterisk.name_recording import NameDesk, take_name
from bridge.domain.entry import Admission, PinOutcome, Refusal
from bridge.domain.guard import Gate, Hold, Refuse, Source, caller_source
from bridge.domain.sources import host_of
from bridge.domain.trunks import TrunkNumber
from bridge.settings import DATA_FILES

log = logging.getLogger(__name__)

PIN_PROMPT = "conf-getpin"
LANGUAGE_CHOICE = "language-choice"  # io-bridge's: "For English, press" (then the key)
CHOICE_TIMEOUT_MS = 3000  # after the last language is offered
GOODBYE = "vm-goodbye"
ONE_MOMENT = "one-moment-please"  # before a wait the guard imposes, if it is a long one
SAY_WHEN_WAITING = 3.0  # seconds: a shorter wait is silence alone
PIN_TIMEOUT_MS = 8000
MAX_PIN_DIGITS = 12
# Silence before the first prompt (the phone opens its audio path), listening: a caller who
# knows the drill types the PIN at once, and AGI throws away keys that come between two
# commands (a Wait() in the dialplan lost them all). The rest of a PIN begun then is read in
# silence; a lone key with nothing after it within REST_TIMEOUT_MS is a stray.
FIRST_SILENCE_MS = 500
SILENCE = "silence/1"
REST_TIMEOUT_MS = 3000
# io-bridge's own prompts (asterisk-config/sounds), played from ``sounds``:
NOT_STARTED = "call-not-started"  # "This call has not started yet. It begins"
NOT_SCHEDULED = "call-not-scheduled"  # "There is no call scheduled in this room."
SHIPPED_SOUNDS = DATA_FILES / "asterisk-config" / "sounds"
# How SayUnixTime says when a call begins ("Thursday, December tenth, at 8 PM"), in the
# caller's channel language: say.conf's format letters (the same in every language Asterisk
# says dates in).
BEGINS_FORMAT = "ABd 'digits/at' IMp"

# What a caller hears for each refusal, in Asterisk's stock English prompts.
REFUSAL_PROMPTS: dict[Refusal, tuple[str, ...]] = {
    Refusal.WRONG_PIN: ("conf-invalidpin",),
    Refusal.NO_PIN: ("please-try-again",),
    Refusal.ROOM_FULL: ("conf-full",),
    Refusal.ROOM_LOCKED: ("conf-locked",),
    Refusal.LOCKED_OUT: ("im-sorry", "please-try-call-later"),
    # Refusal.NOT_STARTED: io-bridge's own prompts and the time (``tell_refusal``).
}
# A retired room's PIN is never told apart (the desk answers it as a wrong PIN); refusals
# after which typing another PIN cannot help:
FINAL = frozenset({Refusal.ROOM_FULL, Refusal.ROOM_LOCKED, Refusal.LOCKED_OUT, Refusal.NOT_STARTED})


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

    def asking_pin(self, source: Source) -> None: ...

    def abandon(self, source: Source, called_for: str | None = None) -> None: ...

    async def number_dialled(self, source: Source, dialled: str | None) -> TrunkNumber | None: ...

    async def enter_room(self, room: str) -> PinOutcome: ...


async def admit_to_room(agi: AgiChannel, admission: Admission, *, hand_back: bool) -> None:
    """Give the dialplan what ConfBridge needs for this caller's room and role;
    ``hand_back``: the dialogue ends here, and the caller goes on to the room with the same
    command (``AgiChannel.command``'s ``last``), not one wake-up of the service later.

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
    # Every prompt from here on (Asterisk's and io-bridge's) in the room's language.
    values["CHANNEL(language)"] = room.language
    values["IOBRIDGE_ROLE"] = str(admission.role)
    values["IOBRIDGE_MENU"] = admission.menu
    if admission.node is not None:
        # Several nodes: the room's node, and what its side of the hand-over needs to set
        # the same ConfBridge options (dialplan/nodes/extensions-nodes.conf).
        values["IOBRIDGE_NODE"] = admission.node
        values["IOBRIDGE_PROFILE"] = admission.user_profile
        values["IOBRIDGE_STARTMUTED"] = values["CONFBRIDGE(user,startmuted)"]
        values["IOBRIDGE_MAX"] = str(room.max_participants)
        values["IOBRIDGE_QUIET"] = "yes" if admission.quiet else "no"
        values["IOBRIDGE_NAMES"] = "yes" if room.announce_names and not admission.quiet else "no"
    values["IOBRIDGE_ROOM"] = room.name
    await agi.set_all(values, last=hand_back)


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


@dataclass(frozen=True)
class LanguageChoice:
    """The shared number's offer before the PIN prompt: key 1 for the first language, ...
    Each offer is io-bridge's ``language-choice`` in that language, then the key, said by
    Asterisk's own digit prompt in that language (``<code>/digits/<key>``)."""

    languages: tuple[str, ...]
    sounds: Path  # io-bridge's own prompts (asterisk-config/sounds)

    def prompts(self) -> list[str]:
        return [
            prompt
            for key, code in enumerate(self.languages, 1)
            for prompt in (str(self.sounds / code / LANGUAGE_CHOICE), f"{code}/digits/{key}")
        ]

    async def ask(self, agi: AgiChannel) -> str:
        """The caller's language (the first one when no key is pressed), set on the
        channel: the PIN prompt and everything after it play in that language."""
        keys = "".join(str(key) for key in range(1, len(self.languages) + 1))
        # One language is no choice: the shared number simply speaks it.
        key = await agi.ask_key(self.prompts(), keys, CHOICE_TIMEOUT_MS) if keys != "1" else ""
        language = self.languages[int(key) - 1] if key else self.languages[0]
        await agi.set_all({"CHANNEL(language)": language})
        return language


def entry_route(
    desk: EntryDesk,
    attempts: int,
    sounds: Path = SHIPPED_SOUNDS,
    choice: LanguageChoice | None = None,
    names: NameDesk | None = None,
) -> Route[CallOrigin]:
    """The ``entry`` script: up to ``attempts`` PINs per call, then the caller's name
    where their room asks for it. ``sounds``: where io-bridge's own prompts are
    (``Settings.sounds_dir``); with ``choice``, the caller picks a language first (one
    language: the prompts are in it, nothing is asked); ``names``: the service's (the
    runtime always gives it, a test of the PIN alone may not)."""

    async def dialogue(agi: AgiChannel, origin: CallOrigin) -> None:
        await _entry(agi, origin, desk, attempts, sounds, choice, names)

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
    agi: AgiChannel,
    origin: CallOrigin,
    desk: EntryDesk,
    attempts: int,
    sounds: Path = SHIPPED_SOUNDS,
    choice: LanguageChoice | None = None,
) -> Admission | Refusal:
    """Ask for a PIN up to ``attempts`` times, each time when the guard lets the prompt
    play; set the room up on success. A trunk's number that names a room (``called_for``)
    opens that room alone: with its PIN, or without any when the number says so."""
    source = await source_of(agi, origin)
    number = await desk.number_dialled(source, origin.dialled)
    called_for = number.room if number is not None else None
    if not desk.call_entered(agi.channel, source):  # too many calls from its source
        await agi.pause(FIRST_SILENCE_MS / 1000)
        await agi.play(*REFUSAL_PROMPTS[Refusal.LOCKED_OUT], GOODBYE)
        return Refusal.LOCKED_OUT
    early = await agi.listen(FIRST_SILENCE_MS)
    if number is not None and number.room is not None and not number.pin_required:
        return await _enter_without_pin(agi, desk, number.room, sounds)
    if choice is not None and choice.languages:
        await choice.ask(agi)
        early = ""  # a key before the offer chose nothing
    last: Admission | Refusal = Refusal.NO_PIN
    for _ in range(attempts):
        held = await _prompt_allowed(agi, desk, source, agi.channel, called_for)
        if held is None:
            await agi.play(*REFUSAL_PROMPTS[Refusal.LOCKED_OUT], GOODBYE)
            return Refusal.LOCKED_OUT
        answered = False
        outcome = PinOutcome(Refusal.NO_PIN)
        try:
            # Keys typed before a wait the guard imposed count for nothing.
            begun = await _rest_of_early_pin(agi, early) if early and not held else None
            early = ""
            if not begun:
                desk.asking_pin(source)
            digits = begun or await agi.read_digits(PIN_PROMPT, PIN_TIMEOUT_MS, MAX_PIN_DIGITS)
            answered = True
            if not digits:
                desk.no_pin(source, called_for)
            else:
                outcome = await desk.try_pin(
                    source, digits, called_for, caller_id=agi.caller_id, channel=agi.channel
                )
        finally:
            if not answered:
                desk.abandon(source, called_for)  # hung up during the prompt: no guess made
        last = outcome.decision
        if isinstance(last, Admission):
            await admit_to_room(agi, last, hand_back=not last.takes_name)
            return last
        await tell_refusal(agi, outcome, sounds)
        if last in FINAL:
            break
    await agi.play(GOODBYE)
    return last


async def _rest_of_early_pin(agi: AgiChannel, first: str) -> str | None:
    """A PIN whose first key came in the silence before the prompt: its other keys, read in
    silence (the caller knows what to type); None for a key that begins no PIN (a stray, or
    nothing typed after it), and the prompt plays as usual."""
    if not first.isdigit():
        return None
    rest = await agi.read_digits(SILENCE, REST_TIMEOUT_MS, MAX_PIN_DIGITS - 1)
    return first + rest if rest else None


async def _enter_without_pin(
    agi: AgiChannel, desk: EntryDesk, room: str, sounds: Path
) -> Admission | Refusal:
    """A trunk's public number: straight into its room, no PIN asked (and none guessed)."""
    outcome = await desk.enter_room(room)
    decision = outcome.decision
    if isinstance(decision, Admission):
        await admit_to_room(agi, decision, hand_back=not decision.takes_name)
        return decision
    if decision is Refusal.NOT_STARTED:
        await tell_refusal(agi, outcome, sounds)
        await agi.play(GOODBYE)
        return decision
    await agi.play(*REFUSAL_PROMPTS.get(decision, REFUSAL_PROMPTS[Refusal.ROOM_LOCKED]), GOODBYE)
    return decision


async def tell_refusal(agi: AgiChannel, outcome: PinOutcome, sounds: Path) -> None:
    """Why the caller is not let in; outside a room's schedule, when its next call begins
    (the time in the room's zone), or that none is scheduled."""
    refusal = outcome.decision
    assert isinstance(refusal, Refusal)
    if refusal is not Refusal.NOT_STARTED:
        await agi.play(*REFUSAL_PROMPTS[refusal])
    elif outcome.begins_at is None or outcome.begins_at.tzinfo is None:
        await agi.play(str(sounds / NOT_SCHEDULED))
    else:
        await agi.play(str(sounds / NOT_STARTED))
        await agi.say_datetime(outcome.begins_at, str(outcome.begins_at.tzinfo), BEGINS_FORMAT)


async def _prompt_allowed(
    agi: AgiChannel, desk: EntryDesk, source: Source, channel: str, called_for: str | None
) -> float | None:
    """Wait as the guard says before the next prompt: the seconds waited, or None if the
    source is refused. A prompt the guard granted must be answered (``try_pin``, ``no_pin``)
    or abandoned."""
    held = 0.0
    while True:
        gate = desk.gate(source, held, channel, called_for)
        if isinstance(gate, Refuse):
            return None
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
    return held + gate.wait


async def _entry(
    agi: AgiChannel,
    origin: CallOrigin,
    desk: EntryDesk,
    attempts: int,
    sounds: Path,
    choice: LanguageChoice | None,
    names: NameDesk | None,
) -> None:
    try:
        outcome = await entry_dialogue(agi, origin, desk, attempts, sounds, choice)
        if isinstance(outcome, Admission) and outcome.takes_name:
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
