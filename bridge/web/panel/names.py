"""A caller's recorded name (``ask_name``), played on the panel: ``GET
/rooms/ROOM/name?channel=...`` answers the WAV to a logged-in moderator of that room (host
or assistant) while the caller is in it, and to nobody else."""

from __future__ import annotations

from aiohttp import web

from bridge.errors import NoRecordedName
from bridge.web.auth import page_session, room_of_request
from bridge.web.keys import SERVICE


async def recorded_name(request: web.Request) -> web.StreamResponse:
    session = await page_session(request)
    room = room_of_request(request, session)
    channel = request.query.get("channel", "")
    file = request.app[SERVICE].names.file_of(room, channel)
    if file is None or not file.is_file():
        raise NoRecordedName(room, channel[:80])
    return web.FileResponse(
        file,
        headers={
            "Content-Type": "audio/wav",
            "Cache-Control": "no-store",  # a person's voice: not kept by the browser
        },
    )
