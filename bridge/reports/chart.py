"""The talk-time shares chart: an SVG drawn on the server, readable without JavaScript.

One bar per speaker, longest talker first, each labelled with who, how long and what
share; the part of each bar that was a first turn (the speaker had not spoken before) is
drawn in its own colour, and a summary line says how much of the call's talk went to
first-time speakers. The same words are in the SVG's <title> and <desc>, so a screen
reader gets the chart as text. A caller's name can hold anything: characters XML does not
allow (controls, say) are drawn as U+FFFD, so the SVG stays well-formed.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape as escape_markup, quoteattr

from bridge.reports.model import Report, SpeakerShare
from bridge.reports.text import duration, first_time_summary, share, who

WIDTH = 760
LABEL_WIDTH = 240  # speaker labels, right-aligned against the bars
BAR_X = LABEL_WIDTH + 10
BAR_WIDTH = 340
VALUE_X = BAR_X + BAR_WIDTH + 10
ROW = 28
BAR_HEIGHT = 18
TOP = 78  # title and summary lines above the bars
MAX_ROWS = 15  # more speakers than this: the rest share one "others" bar
LABEL_CHARS = 34
# Blue and orange: told apart with the common colour-vision deficiencies, and both dark
# enough against white for the text beside them.
OTHER_TALK = "#2b6cb0"
FIRST_TIME = "#c05621"
TEXT = "#1a202c"
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\""
# What XML 1.0 does not allow in text (and the C1 controls it discourages): each becomes
# U+FFFD, the replacement character.
NOT_XML_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    """``text`` as XML character data: markup escaped, characters XML forbids replaced."""
    return escape_markup(NOT_XML_TEXT.sub("\ufffd", text))


def talk_chart_svg(report: Report, id_prefix: str = "talk-chart") -> str:
    """The chart for ``report`` as an SVG element (inline in a page, or a file of its own)."""
    talk = report.talk
    rows = _rows(talk.speakers)
    longest = max((s.talk_time for s in rows), default=0.0)
    height = TOP + max(1, len(rows)) * ROW + 50
    title = f"Talk time in call {report.call.id} (room {report.call.room})"
    summary = (
        f"{len(talk.speakers)} speakers, {duration(talk.total_talk)} of talk "
        f"in a call of {duration(report.call.duration)}."
    )
    first = first_time_summary(talk)
    desc = " ".join(
        [summary, first]
        + [f"{_label(s)}: {duration(s.talk_time)}, {share(s.share)}." for s in rows]
    )
    ids = f"{id_prefix}-title {id_prefix}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}"'
        f' viewBox="0 0 {WIDTH} {height}" aria-labelledby="{ids}" {FONT} font-size="14">',
        f'<title id="{id_prefix}-title">{escape(title)}</title>',
        f'<desc id="{id_prefix}-desc">{escape(desc)}</desc>',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        _text(10, 22, title, weight="bold", size=16),
        _text(10, 44, summary),
        _text(10, 64, first, weight="bold", fill=FIRST_TIME if talk.first_time_share else TEXT),
    ]
    if not rows:
        parts.append(_text(10, TOP + 18, "Nobody was heard in this call."))
    for index, speaker in enumerate(rows):
        parts += _bar(speaker, TOP + index * ROW, longest)
    parts += _legend(TOP + max(1, len(rows)) * ROW + 16)
    parts.append("</svg>")
    return "\n".join(parts)


def _rows(speakers: list[SpeakerShare]) -> list[SpeakerShare]:
    if len(speakers) <= MAX_ROWS:
        return speakers
    shown, rest = speakers[: MAX_ROWS - 1], speakers[MAX_ROWS - 1 :]
    firsts = [s.first_time_talk for s in rest]
    others = SpeakerShare(
        who=f"{len(rest)} others",
        name="",
        role="participant",
        talk_time=sum(s.talk_time for s in rest),
        share=min(1.0, sum(s.share for s in rest)),
        turns=sum(s.turns for s in rest),
        first_time_talk=None if None in firsts else sum(f or 0.0 for f in firsts),
    )
    return [*shown, others]


def _label(speaker: SpeakerShare) -> str:
    label = who(speaker.who, speaker.name)
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _bar(speaker: SpeakerShare, y: int, longest: float) -> list[str]:
    full = BAR_WIDTH * speaker.talk_time / longest if longest > 0 else 0.0
    first = min(speaker.first_time_talk or 0.0, speaker.talk_time)
    first_width = full * first / speaker.talk_time if speaker.talk_time > 0 else 0.0
    value = f"{duration(speaker.talk_time)} · {share(speaker.share)}"
    if speaker.first_time_talk:
        value += f" · first {duration(first)}"
    return [
        _text(LABEL_WIDTH, y + 14, _label(speaker), anchor="end"),
        f'<rect x="{BAR_X}" y="{y}" width="{full:.1f}" height="{BAR_HEIGHT}" fill="{OTHER_TALK}"/>',
        f'<rect x="{BAR_X}" y="{y}" width="{first_width:.1f}" height="{BAR_HEIGHT}"'
        f' fill="{FIRST_TIME}"/>',
        _text(VALUE_X, y + 14, value),
    ]


def _legend(y: int) -> list[str]:
    return [
        f'<rect x="{BAR_X}" y="{y}" width="14" height="14" fill="{FIRST_TIME}"/>',
        _text(BAR_X + 20, y + 12, "first turn (had not spoken before)"),
        f'<rect x="{BAR_X}" y="{y + 20}" width="14" height="14" fill="{OTHER_TALK}"/>',
        _text(BAR_X + 20, y + 32, "later turns, or talk outside the stack"),
    ]


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    weight: str = "normal",
    size: int | None = None,
    fill: str = TEXT,
) -> str:
    extra = f' font-size="{size}"' if size else ""
    return (
        f'<text x="{x}" y="{y}" text-anchor={quoteattr(anchor)} font-weight={quoteattr(weight)}'
        f' fill="{fill}"{extra}>{escape(content)}</text>'
    )
