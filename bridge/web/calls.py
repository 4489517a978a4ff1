"""The directory of calls, for anyone: ``/calls`` (a page) and ``/calls.ics`` (its iCalendar
feed, written by the ``icalendar`` library). No login, nothing private: only public rooms,
their next calls, the numbers that lead to them and, where a room says ``show_pin``, its
participant PIN (``bridge.service.directory``). Both answer from the directory's memory;
the connection caps of ``bridge.web.limits`` hold back a client that asks too often."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from icalendar import Calendar, Event

from bridge.domain.directory import ListedCall
from bridge.web.keys import SERVICE

PRODUCT = "-//io-bridge//directory of calls//EN"
# A page or feed a minute old is fine; a visitor's reload within it costs nothing.
CACHE_CONTROL = "public, max-age=60"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/calls", calls_page)
    router.add_get("/calls.ics", calls_feed)


async def calls_page(request: web.Request) -> web.StreamResponse:
    directory = request.app[SERVICE].directory
    calls, now = await directory.calls(), directory.now()
    context = {"calls": [_row(call, now) for call in calls]}
    response = aiohttp_jinja2.render_template("calls.html", request, context)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


async def calls_feed(request: web.Request) -> web.StreamResponse:
    directory = request.app[SERVICE].directory
    body = calendar(await directory.calls(), request.host, directory.now())
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={
            "Cache-Control": CACHE_CONTROL,
            "Content-Disposition": 'inline; filename="calls.ics"',
        },
    )


def calendar(calls: list[ListedCall], host: str, now: datetime) -> bytes:
    """The scheduled calls as VEVENTs in each room's own zone (TZID, with its VTIMEZONE)."""
    feed = Calendar()
    feed.add("prodid", PRODUCT)
    feed.add("version", "2.0")
    feed.add("x-wr-calname", "Calls")
    for call in calls:
        if call.occurrence is None:
            continue  # a room open at any time has no event to put in a calendar
        event = Event()
        start = call.occurrence.start
        event.add("uid", f"{call.room}-{call.occurrence.start_utc:%Y%m%dT%H%M%SZ}@{host}")
        event.add("dtstamp", now)
        event.add("summary", call.title)
        event.add("dtstart", start)
        event.add("dtend", call.occurrence.end)
        event.add("description", _how_to_join(call))
        feed.add_component(event)
    feed.add_missing_timezones()
    return bytes(feed.to_ical())


def _how_to_join(call: ListedCall) -> str:
    lines = [f"Dial {n.number}" + ("" if n.pin_needed else " (no PIN)") for n in call.numbers]
    if call.pin:
        lines.append(f"PIN: {call.pin}")
    return "\n".join(lines) or "Ask the organisers how to join."


def _row(call: ListedCall, now: datetime) -> dict[str, Any]:
    occurrence = call.occurrence
    row: dict[str, Any] = {
        "title": call.title,
        "numbers": call.numbers,
        "pin": call.pin,
        "live": call.live(now),
        "scheduled": occurrence is not None,
    }
    if occurrence is not None:
        # The UTC time for the visitor's browser to show in their zone (static/calls.js);
        # the room's own time as the text, for a browser without scripts.
        row["start_utc"] = occurrence.start_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        row["end_utc"] = occurrence.end_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        row["start_text"] = occurrence.start.strftime("%a %d %b %Y, %H:%M")
        row["end_text"] = occurrence.end.strftime("%H:%M")
        row["zone"] = call.zone
    return row
