"""The speaker stack of one room's call: who asked to speak, in which order, and who has the floor.

Pure, like the roster: no I/O, no asyncio, no clock. Every method that can change something
takes ``at`` (seconds since the epoch, as on the domain events) and returns the effects the
service must carry out. A moderator command that cannot be done raises a ``StackError`` whose
message is written for the moderator; a caller's key never raises, it always gets a ``Tell``.

Wiring (one ``SpeakerStack`` per live call of a room; drop it when the call ends)
-------------------------------------------------------------------------------------
- Create it with ``SpeakerStack.for_room(spec, auto_advance=..., rejoin_grace=...)`` when the
  call opens, or ``SpeakerStack.from_state(saved, records_from_history(legs, turns))`` after a
  restart (the saved state keeps what those in play said; the call's history, the others);
  then ``resync(members, at)`` with Asterisk's list, which ends the turn of a speaker who left
  while we were away.
- Roster in: ``join(channel, caller_id, role, at)``, ``leave(channel, at)``,
  ``note_speech(channel, turns, talk_time, at)`` with the roster's totals for that channel
  (``Participant.turns``, ``talk_time_at(at)``) whenever they move on.
- Keypad in: ``press(channel, Key.HAND | Key.DIRECT | Key.PROCESS | Key.PLACE, at)``
  (*9, *8, *7, *1).
- Moderators: ``call_next``, ``call``, ``end_turn``, ``move``, ``remove``, ``add``, ``clear``,
  ``set_priority``, ``set_policy``; ``set_rules`` after a rooms file sync.
- Clock: sleep until ``next_deadline()`` (None: nothing is due), then ``tick(now)``. Call it
  again after every method: any of them may move the deadline.
- Out: ``show(at)`` is the ``stack show`` data (``.as_json()`` is the CLI/API object),
  ``place_of(channel)`` a caller's place. Effects:

  ``Unmute``/``Mute(room, channel)``      ConfbridgeUnmute/ConfbridgeMute
  ``Warn(room, channel, seconds_left)``   the speaker alone hears "your time is nearly up"
  ``YouAreNext(room, channel)``           the head of the stack alone hears "you are next"
  ``Tell(room, channel, heard, place)``   the key-presser alone hears ``heard`` (and the place)
  ``TurnStarted``/``TurnEnded``            history rows for the post-call report (the talk
                                          time of a turn is the roster's, not ours)
  ``StackChanged(room)``                  state changed: save ``to_state()``, publish ``show``

Decisions
---------
- Lanes are served process, direct, stack. Within a lane, ``priority`` entries go first. The
  process and direct lanes go in the order of the key presses; the policy orders the stack lane:
  ``fifo`` by raised hand, ``progressive`` by (has not spoken, fewer turns, less talk time,
  earlier hand).
- One entry per caller. *9 raises a hand in the stack lane, or, for anyone queued in any lane,
  withdraws the entry; the speaker's *9 means "I am done". *8 and *7 queue in their lane; pressed
  again they withdraw; pressed while queued in another lane they move the entry there, at the
  back of that lane (priority kept, a moderator's move dropped). The speaker's *7/*8/*1 answer
  ``HAVE_FLOOR``. Moderators' *9/*8/*7 answer ``KEY_NOT_AVAILABLE`` (they speak without asking);
  their *1 and a speaking moderator's *9 work. With ``keypad`` off, every key answers that.
- ``move(channel, place)``: ``place`` is the 1-based place in the serving order, as ``show``
  prints it, and must lie within the entry's own lane. The entry keeps that standing against the
  policy's order from then on (newcomers who rank ahead by the policy still go ahead), until a
  policy switch, a priority change or a lane change puts it back under the policy.
- A person is their caller ID (for the rejoin grace and the "has spoken" record) and a channel
  (for everything else). Withheld caller IDs (``entry.WITHHELD_CALLER_IDS``) identify nobody:
  such a caller's entry goes when they leave, and their record is their channel's alone.
- A caller who leaves keeps their entry, unseen, for ``rejoin_grace`` seconds; joining again
  with the same caller ID in that time puts it back, on the new channel. From ``left_at +
  rejoin_grace`` on (the deadline includes it), the entry is gone.
- "Has spoken" counts floor turns given here and the roster's turns and talk time, summed over
  every channel the person used in this call: turns = max(floor turns, roster turns).
- Whenever someone is given the floor (``call_next``, ``call``, ``auto_advance``), whoever is
  then first in the serving order hears ``YouAreNext``, once: not again while the same person
  stays first through later calls, again once the head has changed (someone else was first,
  or nobody was, at a call) and they are first at a call once more.
- ``auto_advance`` calls the next when a turn ends by itself (done, left, time limit), not when
  a moderator ends it. A limit over 15 s warns once, 15 s before; at the limit the speaker is
  muted (moderators never are) and the turn ends.

Where each part is
------------------
``model`` lanes, keys, what a caller hears, rules, members and the records kept;
``lanes`` who waits, in which lane and order, and places kept through the rejoin grace;
``ordering`` the policies' order and each place's reason; ``stack`` ``SpeakerStack``, the
floor and the effects; ``effects``, ``errors``, ``views``; ``state`` the saved form.
"""

from bridge.domain.speakers.effects import (
    Effect,
    Mute,
    StackChanged,
    Tell,
    TurnEnded,
    TurnStarted,
    Unmute,
    Warn,
    YouAreNext,
)
from bridge.domain.speakers.errors import (
    AlreadyQueued,
    AlreadySpeaking,
    BadState,
    NoSpeaker,
    NotInRoom,
    NotQueued,
    PlaceOutOfLane,
    StackEmpty,
    StackError,
)
from bridge.domain.speakers.model import (
    DEFAULT_REJOIN_GRACE,
    WARNING_LEAD,
    Heard,
    Key,
    Lane,
    Member,
    Record,
    StackRules,
    TurnEnd,
    person_of,
)
from bridge.domain.speakers.stack import SpeakerStack
from bridge.domain.speakers.state import STATE_VERSION, records_from_history
from bridge.domain.speakers.views import PlaceView, SpeakerView, StackView

__all__ = [
    "DEFAULT_REJOIN_GRACE",
    "STATE_VERSION",
    "WARNING_LEAD",
    "AlreadyQueued",
    "AlreadySpeaking",
    "BadState",
    "Effect",
    "Heard",
    "Key",
    "Lane",
    "Member",
    "Mute",
    "NoSpeaker",
    "NotInRoom",
    "NotQueued",
    "PlaceOutOfLane",
    "PlaceView",
    "Record",
    "SpeakerStack",
    "SpeakerView",
    "StackChanged",
    "StackEmpty",
    "StackError",
    "StackRules",
    "StackView",
    "Tell",
    "TurnEnd",
    "TurnEnded",
    "TurnStarted",
    "Unmute",
    "Warn",
    "YouAreNext",
    "person_of",
    "records_from_history",
]
