"""What happened, over the JSON API: calls and their reports, the audit trail (per call and
per room), recordings (list and download), and a host's purge of one call. A token sees
only its moderator's rooms: a call, a trail or a recording of another room is a 403, and
lists leave them out; so a report never shows a caller ID to someone without rights to
the room, and a room's assistant reads numbers masked in reports and trails as on the
panel (``numbers_for``). A purge needs a host of the room."""

from __future__ import annotations

from aiohttp import web

from bridge.domain.accounts import Right
from bridge.errors import NotAllowed
from bridge.reports import Report
from bridge.service.reports import CallPurge
from bridge.service.room_view import NumberShown, numbers_for, numbers_in, whole_numbers
from bridge.store.audit import ActionRecord
from bridge.web.api.inputs import ApiRequest
from bridge.web.api.models import (
    AuditEntry,
    AuditList,
    AuditQuery,
    CallList,
    CallPath,
    CallPurged,
    CallsQuery,
    Recording,
    RecordingList,
    RecordingPath,
    RecordingsQuery,
    ReportQuery,
    RoomPath,
)
from bridge.web.openapi import Operation
from bridge.web.reports import render_report

CALL = "/api/v1/calls/{call_id}"


async def calls(api: ApiRequest) -> CallList:
    """Calls, newest first: all of this token's rooms, or one of them (``room``)."""
    room = api.query.room
    if room is not None:
        api.check_room(room)
    mine = None if api.principal.all_rooms else api.principal.rooms
    found = await api.service.reports.list_calls(room, api.query.limit, rooms=mine)
    return CallList(calls=found)


async def _call_room(api: ApiRequest) -> str:
    room = await api.service.reports.room_of(api.path.call_id)
    api.check_room(room)
    return room


async def report(api: ApiRequest) -> Report | web.Response:
    """The post-call report (only a moderator of the room gets it), caller IDs as they see
    them in the room: whole for a host, masked for an assistant (`caller_ids: masked`)."""
    shown = await numbers_in(api.service, api.principal, await _call_room(api))
    found = await api.service.reports.report(
        api.path.call_id,
        redact_caller_ids=False,
        numbers=None if shown is whole_numbers else shown,
    )
    if api.query.format == "json":
        return found
    return render_report(found, api.query.format)


async def purge(api: ApiRequest) -> CallPurged:
    """Delete the call's history and recordings now (a host of its room; the call must have
    ended). The call's number stays, with when it was purged; the audit trail keeps who."""
    room = await _call_room(api)
    if not api.principal.may(Right.HOST, room):
        raise NotAllowed(f"{api.principal.username} is not a host of room '{room}'")
    return purged_answer(
        await api.service.reports.purge_call(api.path.call_id, api.principal.username)
    )


def purged_answer(done: CallPurge) -> CallPurged:
    call = done.call
    return CallPurged(
        call_id=call.call_id,
        room=call.room,
        purged_at=done.at,
        stays=call.legs,
        turns=call.turns,
        stack_events=call.stack_events,
        audit_rows=call.audit_rows,
        recordings=list(done.recordings),
    )


async def call_audit(api: ApiRequest) -> AuditList:
    """Every moderator action taken during the call, oldest first."""
    shown = await numbers_in(api.service, api.principal, await _call_room(api))
    return _audit(await api.service.audit.of_call(api.path.call_id), shown)


async def room_audit(api: ApiRequest) -> AuditList:
    """The room's latest moderator actions, in any call, newest first."""
    room = api.path.room
    api.check_room(room)
    shown = numbers_for(api.principal, await api.service.find_room(room))
    return _audit(await api.service.audit.of_room(room, api.query.limit), shown)


def _audit(records: list[ActionRecord], shown: NumberShown) -> AuditList:
    """The trail, each target's number as the reader sees it in the room."""
    return AuditList(
        actions=[
            AuditEntry(
                at=r.at,
                call_id=r.call_id,
                room=r.room,
                actor=r.actor,
                action=r.action,
                target_channel=r.target_channel,
                target_caller_id=shown(r.target_caller_id),
                arguments=r.arguments,
                result=r.result,
                message=r.message,
            )
            for r in records
        ]
    )


async def recordings(api: ApiRequest) -> RecordingList:
    """The recordings on disk of this token's rooms (or of one of them), oldest first."""
    wanted = api.query.room
    if wanted is not None:
        api.check_room(wanted)
    principal = api.principal
    found = await api.service.reports.recordings(
        lambda room: principal.may_moderate(room) and wanted in (None, room)
    )
    return RecordingList(recordings=[Recording(**vars(item)) for item in found])


async def download(api: ApiRequest) -> web.StreamResponse:
    """One recording, as the WAV file Asterisk wrote."""
    room, path = api.service.reports.recording_file(api.path.file)
    api.check_room(room)
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "audio/wav",
            "Content-Disposition": f'attachment; filename="{path.name}"',
        },
    )


OPERATIONS = [
    Operation(
        "get", "/api/v1/calls", "list_calls", "calls, newest first", "calls", calls,
        query=CallsQuery, response=CallList, errors=(403,),
    ),
    Operation(
        "get", f"{CALL}/report", "call_report", "a call's report (json, csv or the chart)",
        "calls", report, path_params=CallPath, query=ReportQuery, response=Report,
        other_media={
            "text/csv": "the report as CSV (format=csv)",
            "image/svg+xml": "the talk-time chart (format=svg)",
        },
        errors=(403, 404), description=str(report.__doc__),
    ),
    Operation(
        "post", f"{CALL}/purge", "purge_call", "delete a call's history and recordings now",
        "calls", purge, path_params=CallPath, response=CallPurged, errors=(403, 404, 409),
        description=str(purge.__doc__),
    ),
    Operation(
        "get", f"{CALL}/audit", "call_audit", "the moderators' actions in a call", "audit",
        call_audit, path_params=CallPath, response=AuditList, errors=(403, 404),
    ),
    Operation(
        "get", "/api/v1/rooms/{room}/audit", "room_audit", "a room's latest moderators' actions",
        "audit", room_audit, path_params=RoomPath, query=AuditQuery, response=AuditList,
        errors=(403, 404),
    ),
    Operation(
        "get", "/api/v1/recordings", "list_recordings", "recordings, oldest first",
        "recordings", recordings, query=RecordingsQuery, response=RecordingList, errors=(403,),
    ),
    Operation(
        "get", "/api/v1/recordings/{file}", "download_recording", "one recording (WAV)",
        "recordings", download, path_params=RecordingPath,
        other_media={"audio/wav": "the recording"}, errors=(403, 404),
    ),
]  # fmt: skip
