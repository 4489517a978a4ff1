"""A report in words: durations and shares as people read them, and the plain-text report
the CLI prints."""

from __future__ import annotations

from datetime import datetime

from bridge.reports.model import PollLine, Report, TalkShares


def duration(seconds: float) -> str:
    """12 s, 4:05, 1:02:03."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def share(fraction: float) -> str:
    return f"{fraction * 100:.0f} %"


def clock(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%Y-%m-%d %H:%M:%S UTC")


def first_time_summary(talk: TalkShares) -> str:
    if talk.total_talk <= 0:
        return "Nobody was heard in this call."
    if talk.first_time_share is None or talk.first_time_talk is None:
        return (
            "First-time speakers: not known (some spoke in several turns, and no speaker "
            "stack turns were stored for this call)."
        )
    return (
        f"First-time speakers: {share(talk.first_time_share)} of the talk "
        f"({duration(talk.first_time_talk)} of {duration(talk.total_talk)})."
    )


def who(person_who: str, name: str) -> str:
    label = person_who or "(no caller ID)"
    return f"{label} ({name})" if name and name != person_who else label


def poll_summary(poll: PollLine) -> str:
    """ "4 answered out of 5 present, 1 block" (no block: the poll allowed none)."""
    summary = f"{poll.voters} answered out of {poll.present} present"
    if poll.blocks is not None:
        summary += f", {poll.blocks} {'block' if poll.blocks == 1 else 'blocks'}"
    return summary


def report_lines(report: Report) -> list[str]:
    """The report as the CLI prints it."""
    call, talk = report.call, report.talk
    ended = clock(call.ended_at) if call.ended_at else "still going on"
    lines = [
        f"Call {call.id} in room {call.room}: {clock(call.started_at)} to {ended} "
        f"({duration(call.duration)})",
        f"Caller IDs: {report.caller_ids}",
        "",
        f"Talk time: {duration(talk.total_talk)} among {len(talk.speakers)} speakers. "
        + first_time_summary(talk),
    ]
    for s in talk.speakers:
        first = "" if s.first_time_talk is None else f", first turn {duration(s.first_time_talk)}"
        lines.append(
            f"  {who(s.who, s.name):<32} {duration(s.talk_time):>8} {share(s.share):>6}"
            f"  {s.turns} turns{first}"
        )
    lines += ["", f"Who was there ({len(report.presence)} stays):"]
    for p in report.presence:
        left = clock(p.left_at) if p.left_at else "still there"
        if p.left_at and p.leave_reason:
            left += f" ({p.leave_reason})"
        lines.append(
            f"  {who(p.who, p.name):<32} {p.role:<11} {clock(p.joined_at)} to {left}"
            f"  talk {duration(p.talk_time)}" + ("  dialed out" if p.dialed_out else "")
        )
    if report.turns:
        lines += ["", "Turns:"]
        lines += [
            f"  {clock(t.started_at)}  {t.lane:<8} {who(t.who, t.name):<32} "
            f"{duration(t.length):>8}  ended by {t.ended_by or '-'}"
            + ("  (first time)" if t.first_time else "")
            for t in report.turns
        ]
    if report.stack_events:
        lines += ["", "Stack events:"]
        lines += [
            f"  {clock(e.at)}  {e.kind:<14} {e.who:<20} {e.lane:<8} {e.detail}"
            for e in report.stack_events
        ]
    if report.moderator_actions:
        lines += ["", "Moderators' actions:"]
        lines += [
            f"  {clock(a.at)}  {a.moderator} {a.action} {a.target}  ({a.result})"
            for a in report.moderator_actions
        ]
    for poll in report.polls:
        lines += [
            "",
            f"Poll: {poll.question or '(no question)'}",
            f"  {clock(poll.opened_at)} to {clock(poll.closed_at)}: {poll_summary(poll)}",
        ]
        lines += [f"  {o.key}  {o.label:<20} {o.count:>5}" for o in poll.options]
    lines += ["", "Recordings:" if report.recordings else "Recordings: none"]
    lines += [
        f"  {r.file}  started {clock(r.started_at)} by {r.started_by}, {duration(r.duration)}"
        + ("" if r.on_disk else " (file no longer on disk)")
        for r in report.recordings
    ]
    return lines
