"""Post-call reports over HTTP: the page (``/calls/ID``, the chart inline, and its CSV),
behind the panel's login: only a moderator of the call's room reads it, caller IDs as
they see them in the room (whole for a host, masked for an assistant: ``numbers_for``);
anyone else logged in gets a 403. A host of the room may purge an ended call from
the page ("Purge this call", confirmed by a tick). ``render_report(report, fmt)`` is also what the
API (``GET /api/v1/calls/ID/report``) answers with, under the same rule.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import parse_qs

import jinja2
from aiohttp import web
from markupsafe import Markup

from bridge.domain.accounts import Right
from bridge.errors import BadField, NotAllowed
from bridge.reports import Report, report_csv, talk_chart_svg
from bridge.reports.text import clock, duration, poll_summary, share, who
from bridge.service.accounts import PanelSession
from bridge.service.room_view import numbers_in, whole_numbers
from bridge.web.auth import CSRF_FIELD, page_session, state_changing_session
from bridge.web.bodies import read_body
from bridge.web.keys import SERVICE

PURGE_FORM_LIMIT = 4096  # a CSRF token and a tick

FORMATS = ("json", "csv", "svg")
MAX_CALL_ID = 2_147_483_647  # a 32-bit database integer (PostgreSQL)


async def check_page_reader(request: web.Request, room: str) -> PanelSession:
    """Only a moderator of ``room`` reads its calls' reports (caller IDs as ``numbers_for``).
    No session: to the login page, and back here after it; anyone else: 403."""
    session = await page_session(request)
    if not session.principal.may_moderate(room):
        raise NotAllowed(f"{session.principal.username} may not see the calls of room '{room}'")
    return session


def call_id_of(request: web.Request) -> int:
    raw = request.match_info["call_id"]
    if not raw.isdigit() or len(raw) > 10 or int(raw) > MAX_CALL_ID:
        raise BadField(f"not a call number: {raw!r}")
    return int(raw)


def render_report(report: Report, fmt: str) -> web.Response:
    """The report as JSON (the ``Report`` model), CSV or the chart's SVG."""
    if fmt == "csv":
        return web.Response(
            text=report_csv(report),
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="call-{report.call.id}.csv"'},
        )
    if fmt == "svg":
        return web.Response(text=talk_chart_svg(report), content_type="image/svg+xml")
    if fmt == "json":
        return web.Response(text=report.model_dump_json(), content_type="application/json")
    raise BadField(f"format: expected one of {', '.join(FORMATS)}, not {fmt!r}")


# ---- the page ------------------------------------------------------------------------------


@cache
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bridge.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(clock=clock, duration=duration, share=share)
    env.globals["who"] = who
    env.globals["poll_summary"] = poll_summary
    return env


async def _readable_report(request: web.Request) -> tuple[Report, PanelSession]:
    reports = request.app[SERVICE].reports
    call_id = call_id_of(request)
    room = await reports.room_of(call_id)
    session = await check_page_reader(request, room)
    shown = await numbers_in(request.app[SERVICE], session.principal, room)
    numbers = None if shown is whole_numbers else shown
    return await reports.report(call_id, redact_caller_ids=False, numbers=numbers), session


async def report_page(request: web.Request) -> web.Response:
    report, session = await _readable_report(request)
    call = report.call
    html = (
        _templates()
        .get_template("call_report.html")
        .render(
            report=report,
            chart=Markup(talk_chart_svg(report)),  # built from escaped parts (bridge.reports.chart)
            csv_href=f"/calls/{call.id}/report.csv",
            csrf=session.csrf,
            may_purge=call.ended_at is not None
            and call.purged_at is None
            and session.principal.may(Right.HOST, call.room),
        )
    )
    return web.Response(text=html, content_type="text/html")


async def report_page_csv(request: web.Request) -> web.Response:
    return render_report((await _readable_report(request))[0], "csv")


async def recording_download(request: web.Request) -> web.StreamResponse:
    """A recording as the WAV file Asterisk wrote, for a moderator of its room (the room
    page's past calls link here); no session: to the login page first."""
    room, path = request.app[SERVICE].reports.recording_file(request.match_info["file"])
    await check_page_reader(request, room)
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "audio/wav",
            "Content-Disposition": f'attachment; filename="{path.name}"',
        },
    )


async def purge_call(request: web.Request) -> web.Response:
    """The page's "Purge this call": a host of the room, the box ticked; then the report
    again, which says the call was purged."""
    call_id = call_id_of(request)
    raw, _ = await read_body(request, PURGE_FORM_LIMIT)
    form = parse_qs(raw.decode("utf-8", "replace"))
    session = await state_changing_session(request, (form.get(CSRF_FIELD) or [""])[0])
    reports = request.app[SERVICE].reports
    room = await reports.room_of(call_id)
    if not session.principal.may(Right.HOST, room):
        raise NotAllowed(f"{session.principal.username} is not a host of room '{room}'")
    if (form.get("confirm") or [""])[0] != "yes":
        raise BadField("tick the box to confirm: a purge cannot be undone")
    await reports.purge_call(call_id, session.principal.username)
    return web.Response(status=303, headers={"Location": f"/calls/{call_id}"})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/recordings/{file}", recording_download)
    router.add_get("/calls/{call_id}", report_page)
    router.add_get("/calls/{call_id}/report.csv", report_page_csv)
    router.add_post("/calls/{call_id}/purge", purge_call)
