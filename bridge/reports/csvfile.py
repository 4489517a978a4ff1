"""A report as one CSV table for spreadsheets: one row per fact, its section first.

Sections: call, presence, talk (one row per speaker: the chart's figures), first_time (the
chart's summary), turn, stack_event, moderator_action, recording, poll (voters in ``count``
out of ``present``, the question in ``detail``) and its poll_option rows (the key in
``kind``, the label in ``name``, the count; a block is key 9, present only when the poll
allowed one), breakout (one stint in a group: the group in ``kind``). Times are ISO 8601 UTC,
durations seconds, shares fractions of 1. A cell a spreadsheet would run as a formula
(a caller's name can be anything) is prefixed with an apostrophe: one that starts with a
formula's first character once spaces and invisible characters before it are passed over
and compatibility forms are folded (a full-width equals sign is an = to some spreadsheets).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import datetime
from typing import Any

from bridge.domain.polls import BLOCK_KEY
from bridge.reports.model import Report

COLUMNS = (
    "section",
    "at",
    "until",
    "who",
    "name",
    "role",
    "lane",
    "kind",
    "seconds",
    "talk_time",
    "share",
    "turns",
    "detail",
    "leave_reason",
    "count",
    "present",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in _rows(report):
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return out.getvalue()


def _rows(report: Report) -> list[dict[str, Any]]:
    call, talk = report.call, report.talk
    rows: list[dict[str, Any]] = [
        {
            "section": "call",
            "at": call.started_at,
            "until": call.ended_at,
            "name": call.room,
            "seconds": call.duration,
            "talk_time": talk.total_talk,
            "detail": f"call {call.id}; caller IDs {report.caller_ids}",
        }
    ]
    rows += [
        {
            "section": "presence",
            "at": p.joined_at,
            "until": p.left_at,
            "who": p.who,
            "name": p.name,
            "role": p.role,
            "seconds": p.stayed,
            "talk_time": p.talk_time,
            "turns": p.turns,
            "detail": p.channel,
            "leave_reason": p.leave_reason,
        }
        for p in report.presence
    ]
    rows += [
        {
            "section": "talk",
            "who": s.who,
            "name": s.name,
            "role": s.role,
            "talk_time": s.talk_time,
            "share": s.share,
            "turns": s.turns,
            "seconds": s.first_time_talk,
            "detail": "seconds: talk in their first turn",
        }
        for s in talk.speakers
    ]
    rows.append(
        {
            "section": "first_time",
            "talk_time": talk.first_time_talk,
            "share": talk.first_time_share,
            "detail": f"talk by speakers who had not spoken before (from {talk.first_time_basis})",
        }
    )
    rows += [
        {
            "section": "turn",
            "at": t.started_at,
            "who": t.who,
            "name": t.name,
            "lane": t.lane,
            "kind": "first time" if t.first_time else "",
            "seconds": t.length,
            "talk_time": t.talk_time,
            "detail": f"ended by {t.ended_by}" if t.ended_by else "",
        }
        for t in report.turns
    ]
    rows += [
        {
            "section": "stack_event",
            "at": e.at,
            "who": e.who,
            "lane": e.lane,
            "kind": e.kind,
            "detail": e.detail,
        }
        for e in report.stack_events
    ]
    rows += [
        {
            "section": "moderator_action",
            "at": a.at,
            "who": a.target,
            "name": a.moderator,
            "kind": a.action,
            "detail": a.result,
        }
        for a in report.moderator_actions
    ]
    rows += [
        {
            "section": "recording",
            "at": r.started_at,
            "name": r.started_by,
            "kind": "on disk" if r.on_disk else "file gone",
            "seconds": r.duration,
            "detail": r.file,
        }
        for r in report.recordings
    ]
    rows += [
        {
            "section": "breakout",
            "at": s.started_at,
            "until": s.ended_at,
            "who": s.who,
            "name": s.name,
            "kind": s.group,
            "seconds": s.seconds,
        }
        for s in report.breakouts
    ]
    for poll in report.polls:
        rows.append(
            {
                "section": "poll",
                "at": poll.opened_at,
                "until": poll.closed_at,
                "seconds": round((poll.closed_at - poll.opened_at).total_seconds(), 2),
                "share": round(poll.voters / poll.present, 4) if poll.present else 0.0,
                "count": poll.voters,
                "present": poll.present,
                "detail": poll.question,
            }
        )
        options = [(o.key, o.label, o.count) for o in poll.options]
        if poll.blocks is not None:
            options.append((BLOCK_KEY, "block", poll.blocks))
        rows += [
            {
                "section": "poll_option",
                "at": poll.opened_at,
                "kind": key,
                "name": label,
                "count": count,
                "detail": poll.question,
            }
            for key, label, count in options
        ]
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if text and not _plain_number(text) and _runs_as_formula(text):
        return "'" + text
    return text


def _runs_as_formula(text: str) -> bool:
    if text.startswith(_FORMULA_START):
        return True
    folded = unicodedata.normalize("NFKC", text)
    start = next((c for c in folded if not _passed_over(c)), "")
    return start in _FORMULA_START


def _passed_over(char: str) -> bool:
    """Spaces, controls and format characters (a zero-width space, a BOM) that a
    spreadsheet may skip or that a reader cannot see before the first character."""
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def _plain_number(text: str) -> bool:
    """+4930123456 is a caller ID, not a formula: digits after a sign stay as they are."""
    return text[0] in "+-" and text[1:].replace(" ", "").isdigit()
