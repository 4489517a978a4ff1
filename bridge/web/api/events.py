"""``GET /api/v1/events``: the push feed as Server-Sent Events, for scripts.

A token hears the events of the rooms its moderator may moderate (the admin token: every
room), of one room or some kinds if it asks. The stream stays open; a comment every
``KEEPALIVE`` seconds keeps proxies from closing it. The token's rights are read again
every ``RECHECK`` seconds: a token revoked or a room taken away ends the stream. A script
that reads too slowly is dropped (the hub's bounded queue): it hears a last ``dropped``
event and reconnects (the ``retry`` field says after how long), then reads the rooms'
state again (``GET /api/v1/rooms/{room}``): nothing is replayed. So does a script whose
service stops: its stream ends at once with ``dropped`` (reason ``service stopping``), and
a stop never waits for a script to hang up. Callers' numbers are
as the token's moderator sees them in each room (``numbers_for``): masked for an assistant.
"""

from __future__ import annotations

import json
import time

from aiohttp import web

from bridge.domain.accounts import Principal
from bridge.domain.feed import Kind, shown_event
from bridge.errors import BadField, BridgeError, Stopping
from bridge.hub import HubClosed, SubscriberDropped
from bridge.service.feed import Published
from bridge.service.room_view import NumberShown, numbers_in, whole_numbers
from bridge.web.api.auth import principal_of
from bridge.web.api.inputs import ApiRequest
from bridge.web.api.models import EventsQuery
from bridge.web.openapi import Operation

KEEPALIVE = 15.0  # seconds between comments on a quiet stream
RECHECK = 30.0  # seconds between reads of the token's rights
RETRY_MS = 2000  # what the stream tells a client to wait before reconnecting

EXAMPLE = """\
id: 18c1f0a2b3c-42
event: participant.joined
data: {"id":"18c1f0a2b3c-42","kind":"participant.joined","room":"assembly",\
"at":"2026-12-01T18:02:11.204+00:00","data":{"channel":"PJSIP/anonymous-00000007",\
"caller_id":"+15550100","caller_name":"","role":"participant"}}
"""
DESCRIPTION = f"""\
Server-Sent Events: one event per change in the rooms this token may moderate, as it
happens. Kinds: {", ".join(str(k) for k in Kind)} (docs/admin.md, "The push feed", has
each kind's data). Each event's `data:` is one JSON object (id, kind, room, at, data);
its `event:` is the kind and its `id:` the id. A comment line every {KEEPALIVE:g} s keeps
the stream open; a client too slow to read is sent `event: dropped` (reason `too slow`)
and the stream ends, and so is every client when the service stops (reason `service
stopping`): reconnect and read the rooms' state again. Example:

```
{EXAMPLE}```
"""


def _kinds(asked: str | None) -> frozenset[str] | None:
    if asked is None:
        return None
    known = {str(kind) for kind in Kind}
    wanted = frozenset(asked.split(","))
    unknown = sorted(wanted - known)
    if unknown:
        raise BadField(f"kinds: unknown {', '.join(unknown)}; expected any of {', '.join(Kind)}")
    return wanted


def _frame(item: Published) -> bytes:
    data = json.dumps(item.as_json(), separators=(",", ":"))
    return f"id: {item.id}\nevent: {item.event.kind}\ndata: {data}\n\n".encode()


async def events(api: ApiRequest) -> web.StreamResponse:
    """The push feed of this token's rooms (or of one room), as Server-Sent Events."""
    query: EventsQuery = api.query
    room = query.room
    if room is not None:
        api.check_room(room)
    kinds = _kinds(query.kinds)
    principal = api.principal
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx: pass each event on at once
        }
    )
    hub = api.service.feed.hub
    if hub.closed:
        raise Stopping()
    async with hub.subscribe(f"events:{principal.username}") as sub:
        await response.prepare(api.request)
        await response.write(f": io-bridge push feed\nretry: {RETRY_MS}\n\n".encode())
        checked = time.monotonic()
        numbers: dict[str, NumberShown] = {}  # room -> how this token sees its numbers
        while True:
            if time.monotonic() - checked >= RECHECK:
                now = await _still(api)
                if now is None or (room is not None and not now.may_moderate(room)):
                    break
                principal = now
                numbers.clear()  # a role (or a room's setting) may have changed
                checked = time.monotonic()
            try:
                item = await sub.get(timeout=min(KEEPALIVE, RECHECK))
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            except SubscriberDropped:
                await response.write(_dropped("too slow"))
                break
            except HubClosed:
                await response.write(_dropped("service stopping"))
                break
            event = item.event
            wanted = (room is None or event.room == room) and (kinds is None or event.kind in kinds)
            if wanted and principal.may_moderate(event.room):
                if event.room not in numbers:
                    numbers[event.room] = await numbers_in(api.service, principal, event.room)
                await response.write(_frame(_as_shown(item, numbers[event.room])))
    return response


def _dropped(reason: str) -> bytes:
    return f'event: dropped\ndata: {{"reason":"{reason}"}}\n\n'.encode()


def _as_shown(item: Published, shown: NumberShown) -> Published:
    """The event with callers' numbers as this token sees them in its room."""
    if shown is whole_numbers:
        return item
    return Published(item.id, shown_event(item.event, shown))


async def _still(api: ApiRequest) -> Principal | None:
    """The token's principal now (rooms may have changed); None: the token is no more."""
    try:
        return await principal_of(api.request)
    except BridgeError:
        return None


OPERATIONS = [
    Operation(
        "get", "/api/v1/events", "events", "the push feed (Server-Sent Events)", "events",
        events, query=EventsQuery, errors=(403,), description=DESCRIPTION,
        other_media={"text/event-stream": "one event per change, as long as the client reads"},
    ),
]  # fmt: skip
