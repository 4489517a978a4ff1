"""Post-call reports over HTTP: the page (``/calls/ID``, the chart inline), and the JSON,
CSV and SVG renderings the API serves.

``render_report(report, fmt)`` and ``render_call_list(items)`` are what the versioned API
(``/api/v1/calls``, ``/api/v1/calls/ID/report[?format=csv]``) answers with; today they
serve ``/api/calls...`` behind the admin token, where caller IDs show in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import jinja2
from aiohttp import web
from markupsafe import Markup

from bridge.errors import BadField
from bridge.reports import CallListItem, Report, report_csv, talk_chart_svg
from bridge.reports.text import clock, duration, share, who
from bridge.web.keys import SERVICE

FORMATS = ("json", "csv", "svg")
MAX_LIST = 500


@dataclass(frozen=True)
class ReportReader:
    """Who reads a report, as far as the report cares."""

    redact_caller_ids: bool


async def page_reader(request: web.Request, room: str) -> ReportReader:
    """HOOK (panel, issue 11): decide who reads the report page of a call in ``room``.

    Until the login lands the page is open to whoever reaches the panel's port, so it
    shows caller IDs masked (last two digits, no names). With the login: no session ->
    redirect to /login; a moderator without rights to ``room`` -> masked (or 403); with
    rights -> ``ReportReader(redact_caller_ids=False)``."""
    return ReportReader(redact_caller_ids=True)


def call_id_of(request: web.Request) -> int:
    raw = request.match_info["call_id"]
    if not raw.isdigit() or len(raw) > 12:
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


def render_call_list(items: list[CallListItem]) -> web.Response:
    body = "[" + ",".join(item.model_dump_json() for item in items) + "]"
    return web.Response(text='{"calls":' + body + "}", content_type="application/json")


# ---- the admin token's API (moves to /api/v1 with the tokens) -----------------------------


async def api_calls(request: web.Request) -> web.Response:
    room = request.query.get("room")
    try:
        limit = min(MAX_LIST, max(1, int(request.query.get("limit", "50"))))
    except ValueError:
        raise BadField("limit: expected a whole number") from None
    return render_call_list(await request.app[SERVICE].reports.list_calls(room, limit))


async def api_report(request: web.Request) -> web.Response:
    report = await request.app[SERVICE].reports.report(call_id_of(request), redact_caller_ids=False)
    return render_report(report, request.query.get("format", "json"))


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
    return env


async def _readable_report(request: web.Request) -> Report:
    reports = request.app[SERVICE].reports
    call_id = call_id_of(request)
    reader = await page_reader(request, await reports.room_of(call_id))
    return await reports.report(call_id, redact_caller_ids=reader.redact_caller_ids)


async def report_page(request: web.Request) -> web.Response:
    report = await _readable_report(request)
    html = (
        _templates()
        .get_template("call_report.html")
        .render(
            report=report,
            chart=Markup(talk_chart_svg(report)),  # built from escaped parts (bridge.reports.chart)
            csv_href=f"/calls/{report.call.id}/report.csv",
        )
    )
    return web.Response(text=html, content_type="text/html")


async def report_page_csv(request: web.Request) -> web.Response:
    return render_report(await _readable_report(request), "csv")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/calls/{call_id}", report_page)
    router.add_get("/calls/{call_id}/report.csv", report_page_csv)
    router.add_get("/api/calls", api_calls)
    router.add_get("/api/calls/{call_id}/report", api_report)
