"""Building a post-call report from a call's history rows. Pure: no database, no clock
(``now`` comes in), no files (the recordings folder's listing comes in).

A person is a caller ID (all their stays together); callers who withheld their number are
told apart by their channel instead, so two anonymous callers are never merged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bridge.domain.entry import WITHHELD_CALLER_IDS
from bridge.domain.events import LeaveReason
from bridge.domain.polls import BLOCK_KEY
from bridge.domain.privacy import mask_caller_id
from bridge.recordings import recording_started_at
from bridge.reports.debrief import debrief
from bridge.reports.model import (
    BreakoutStint,
    CallerIds,
    CallInfo,
    CallListItem,
    FirstTimeBasis,
    ModeratorAction,
    PollLine,
    PollOption,
    Presence,
    RecordingLine,
    Report,
    SpeakerShare,
    StackEventLine,
    TalkShares,
    TurnLine,
)
from bridge.reports.rows import (
    CallHistory,
    CallListRow,
    CallRow,
    LegRow,
    PollRow,
    RecordingFile,
    TurnRow,
)

# A recording's name carries its start to the second, in the bridge's local time; the
# first recording of a room set to record starts a moment after the call does.
RECORDING_SLACK = timedelta(seconds=5)


def _reason(stored: str | None) -> LeaveReason | None:
    """A leg's stored reason; one this version does not know reads as not known."""
    try:
        return LeaveReason(stored) if stored else None
    except ValueError:
        return None


def person_key(caller_id: str, channel: str) -> str:
    """Who a row is about: the caller ID, or the channel for a withheld one."""
    if caller_id.strip().lower() in WITHHELD_CALLER_IDS:
        return f"channel:{channel}"
    return caller_id


@dataclass
class _Person:
    who: str
    name: str = ""
    role: str = "participant"
    talk_time: float = 0.0
    turns: int = 0
    first_turn_talk: float | None = None
    stays: list[LegRow] = field(default_factory=list)


def build_report(
    history: CallHistory,
    files: Sequence[RecordingFile] = (),
    *,
    redact_caller_ids: bool,
    now: datetime,
    numbers: Callable[[str], str] | None = None,
) -> Report:
    """The report of one call. ``redact_caller_ids``: the reader has no rights to the
    room, so caller IDs show only their last two characters and names not at all.
    ``numbers``: how a reader with rights sees callers' numbers, when not whole (a room's
    assistant: ``bridge.service.room_view.numbers_for``); names stay, masked where a name
    is the number."""
    call = history.call
    show, caller_ids = _shown_as(call, redact_caller_ids, numbers)
    hide_names = redact_caller_ids and not call.redacted
    named = _no_name if hide_names else show if numbers is not None else _as_is
    # A channel's name carries the SIP endpoint's, which may say who called: only a reader
    # who sees full caller IDs sees channels; others see whose channel it was.
    hide_channels = caller_ids != "full"
    caller_of = {leg.channel: leg.caller_id for leg in history.legs}
    turns = sorted(history.turns, key=lambda t: t.started_at)
    people = _people(history.legs, turns)
    talk = _talk_shares(people, has_turns=bool(turns), show=show, named=named)
    lines = _turn_lines(turns, people, show, named)
    events = [
        StackEventLine(at=e.at, kind=e.kind, who=show(e.caller_id), lane=e.lane, detail=e.detail)
        for e in sorted(history.stack_events, key=lambda e: e.at)
    ]
    return Report(
        call=call_info(call, now),
        caller_ids=caller_ids,
        presence=[
            Presence(
                who=show(leg.caller_id),
                name=named(leg.label or leg.caller_name),
                role=leg.role,
                channel="" if hide_channels else leg.channel,
                joined_at=leg.joined_at,
                left_at=leg.left_at,
                stayed=_seconds(leg.joined_at, leg.left_at or call.ended_at or now),
                talk_time=round(leg.talk_time, 2),
                turns=leg.turns,
                leave_reason=_reason(leg.leave_reason),
                dialed_out=leg.dialed_out,
            )
            for leg in history.legs
        ],
        talk=talk,
        turns=lines,
        stack_events=events,
        moderator_actions=[
            ModeratorAction(
                at=a.at,
                moderator=a.moderator,
                action=a.action,
                target=show(caller_of.get(a.target, a.target)) if hide_channels else a.target,
                result=a.result,
            )
            for a in sorted(history.audit, key=lambda a: a.at)
        ],
        recordings=_recordings(history, files, now),
        polls=[_poll_line(p) for p in sorted(history.polls, key=lambda p: p.opened_at)],
        practice=call.practice,
        debrief=debrief(events, lines, talk) if call.practice else None,
        breakouts=[
            BreakoutStint(
                group=s.group,
                who=show(s.caller_id),
                name=named(s.name),
                channel="" if hide_channels else s.channel,
                started_at=s.started_at,
                ended_at=s.ended_at,
                seconds=_seconds(s.started_at, s.ended_at),
            )
            for s in sorted(history.stints, key=lambda s: (s.group, s.started_at))
        ],
    )


def _poll_line(poll: PollRow) -> PollLine:
    blocks = [count for key, _, count in poll.counts if key == BLOCK_KEY]
    return PollLine(
        question=poll.question,
        opened_at=poll.opened_at,
        closed_at=poll.closed_at,
        options=[
            PollOption(key=key, label=label, count=count)
            for key, label, count in poll.counts
            if key != BLOCK_KEY
        ],
        voters=poll.voters,
        present=poll.present,
        blocks=blocks[0] if blocks else None,
    )


def call_info(call: CallRow, now: datetime) -> CallInfo:
    return CallInfo(
        id=call.id,
        room=call.room,
        started_at=call.started_at,
        ended_at=call.ended_at,
        duration=_seconds(call.started_at, call.ended_at or now),
        redacted=call.redacted,
        purged_at=call.purged_at,
        recordings_purged_at=call.recordings_purged_at,
    )


def call_list_item(row: CallListRow, now: datetime) -> CallListItem:
    info = call_info(row.call, now)
    return CallListItem(
        **info.model_dump(exclude={"redacted", "purged_at", "recordings_purged_at"}),
        legs=row.legs,
        talk_time=round(row.talk_time, 2),
        redacted=info.redacted,
    )


def _as_is(caller_id: str) -> str:
    return caller_id


def _no_name(name: str) -> str:
    return ""


def _shown_as(
    call: CallRow, redact: bool, numbers: Callable[[str], str] | None
) -> tuple[Callable[[str], str], CallerIds]:
    if call.redacted:
        return _as_is, "pseudonyms"
    if redact:
        return mask_caller_id, "masked"
    if numbers is not None:
        return numbers, "masked"
    return _as_is, "full"


def _seconds(start: datetime, end: datetime) -> float:
    return round(max(0.0, (end - start).total_seconds()), 2)


def _people(legs: Sequence[LegRow], turns: Sequence[TurnRow]) -> dict[str, _Person]:
    people: dict[str, _Person] = {}
    for leg in legs:
        person = people.setdefault(
            person_key(leg.caller_id, leg.channel), _Person(who=leg.caller_id)
        )
        person.stays.append(leg)
        person.name = person.name or leg.label or leg.caller_name
        person.talk_time += leg.talk_time
        person.turns += leg.turns
        if leg.role == "moderator":
            person.role = "moderator"
    for turn in turns:  # in order: a person's first turn is the one where they had not spoken
        person = people.setdefault(
            person_key(turn.caller_id, turn.channel), _Person(who=turn.caller_id)
        )
        if person.first_turn_talk is None:
            person.first_turn_talk = turn.talk_time
    return people


def _first_time_talk(people: Sequence[_Person], has_turns: bool) -> tuple[float | None, str]:
    """Talk time that went to people who had not spoken before in the call.

    With the stack's turns: each person's first turn. Without them, the roster's turn
    count still settles it when nobody spoke in more than one turn (then every word was
    someone's first); otherwise it cannot be told."""
    if has_turns:
        return sum(p.first_turn_talk or 0.0 for p in people), "turns"
    if all(p.turns <= 1 for p in people if p.talk_time > 0):
        return sum(p.talk_time for p in people), "roster"
    return None, "unknown"


def _talk_shares(
    people: dict[str, _Person],
    *,
    has_turns: bool,
    show: Callable[[str], str],
    named: Callable[[str], str],
) -> TalkShares:
    total = sum(p.talk_time for p in people.values())
    first, basis = _first_time_talk(list(people.values()), has_turns)
    speakers = sorted(
        (p for p in people.values() if p.talk_time > 0 or p.first_turn_talk),
        key=lambda p: (-p.talk_time, p.who),
    )
    return TalkShares(
        total_talk=round(total, 2),
        speakers=[
            SpeakerShare(
                who=show(p.who),
                name=named(p.name),
                role=p.role,
                talk_time=round(p.talk_time, 2),
                share=_share(p.talk_time, total),
                turns=p.turns,
                first_time_talk=_person_first_time(p, has_turns, basis),
            )
            for p in speakers
        ],
        first_time_talk=None if first is None else round(first, 2),
        first_time_share=None if first is None else _share(first, total),
        first_time_basis=_basis(basis),
    )


def _basis(value: str) -> FirstTimeBasis:
    if value == "turns":
        return "turns"
    return "roster" if value == "roster" else "unknown"


def _person_first_time(person: _Person, has_turns: bool, basis: str) -> float | None:
    if has_turns:
        return round(person.first_turn_talk or 0.0, 2)
    if basis == "roster" or person.turns <= 1:
        return round(person.talk_time, 2)
    return None


def _share(part: float, total: float) -> float:
    return round(min(1.0, part / total), 4) if total > 0 else 0.0


def _turn_lines(
    turns: Sequence[TurnRow],
    people: dict[str, _Person],
    show: Callable[[str], str],
    named: Callable[[str], str],
) -> list[TurnLine]:
    seen: set[str] = set()
    lines = []
    for turn in turns:
        key = person_key(turn.caller_id, turn.channel)
        lines.append(
            TurnLine(
                who=show(turn.caller_id),
                name=named(people[key].name),
                lane=turn.lane,
                started_at=turn.started_at,
                length=_seconds(turn.started_at, turn.ended_at),
                talk_time=round(turn.talk_time, 2),
                ended_by=turn.ended_by,
                first_time=key not in seen,
            )
        )
        seen.add(key)
    return lines


def _recordings(
    history: CallHistory, files: Sequence[RecordingFile], now: datetime
) -> list[RecordingLine]:
    """The room's recordings that started during the call, each with who started it."""
    call = history.call
    begin, end = call.started_at - RECORDING_SLACK, (call.ended_at or now) + RECORDING_SLACK
    starters = {s.file_name: s for s in history.recording_starts}
    lines: dict[str, RecordingLine] = {}
    for file in files:
        started = recording_started_at(call.room, file.name)
        if started is None or not begin <= started <= end:
            continue
        starter = starters.get(file.name)
        lines[file.name] = RecordingLine(
            file=file.name,
            started_at=starter.started_at if starter else started,
            started_by=starter.started_by if starter else "unknown",
            duration=round(file.duration, 2),
            size=file.size,
            on_disk=True,
        )
    for start in history.recording_starts:  # started here, but the file is gone
        if start.file_name not in lines and begin <= start.started_at <= end:
            lines[start.file_name] = RecordingLine(
                file=start.file_name,
                started_at=start.started_at,
                started_by=start.started_by,
                duration=0.0,
                size=0,
                on_disk=False,
            )
    return sorted(lines.values(), key=lambda r: r.started_at)
