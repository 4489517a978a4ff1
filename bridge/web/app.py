"""The HTTP side: application factory, the JSON API the CLI (and later the panel) uses,
and a status page. Handlers parse, call the service, and render; nothing more."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from bridge.asterisk.ami import (
    AmiError,
    BadActionField,
    NoSuchParticipant,
    NoSuchRoom,
    PbxUnavailable,
)
from bridge.domain.rooms import ROOM_NAME
from bridge.service import BridgeService
from bridge.settings import Settings

log = logging.getLogger(__name__)

SERVICE = web.AppKey("service", BridgeService)
ADMIN_TOKEN = web.AppKey("admin_token", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Room actions the API accepts, and whether each names one participant.
ROOM_ACTIONS: dict[str, bool] = {
    "mute": True,
    "unmute": True,
    "kick": True,
    "mute-all": False,
    "unmute-all": False,
    "lock": False,
    "unlock": False,
    "record": False,
    "stop-record": False,
    "end": False,
}


CHANNEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.@:;+-]{0,119}")  # Local/x@ctx-0001;2


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


def _room(request: web.Request) -> str:
    """The room named in the path, checked: it goes into AMI fields and file names."""
    room = request.match_info["room"]
    if not ROOM_NAME.fullmatch(room):
        raise _bad_request(f"not a room name: {room!r} (expected a-z, 0-9 and -)")
    return room


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Named failures become 4xx/5xx answers with a message; never a traceback page."""
    try:
        return await handler(request)
    except (NoSuchRoom, NoSuchParticipant) as exc:
        return web.json_response({"error": str(exc)}, status=404)
    except PbxUnavailable as exc:
        return web.json_response({"error": str(exc)}, status=503)
    except BadActionField as exc:
        return web.json_response({"error": str(exc)}, status=400)
    except AmiError as exc:
        return web.json_response({"error": str(exc)}, status=409)


def _require_admin(request: web.Request) -> None:
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip().encode("utf-8", "surrogateescape")
    if not token or not hmac.compare_digest(token, request.app[ADMIN_TOKEN].encode()):
        raise web.HTTPUnauthorized(
            text='{"error": "admin token required"}', content_type="application/json"
        )


async def healthz(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    return web.json_response({"ok": True, "pbx": service.status()["pbx"]})


async def status(request: web.Request) -> web.Response:
    _require_admin(request)
    return web.json_response(request.app[SERVICE].status())


async def room_status(request: web.Request) -> web.Response:
    _require_admin(request)
    return web.json_response(request.app[SERVICE].room_status(_room(request)))


async def room_action(request: web.Request) -> web.Response:
    _require_admin(request)
    service = request.app[SERVICE]
    room = _room(request)
    action = request.match_info["action"]
    if action not in ROOM_ACTIONS:
        expected = ", ".join(ROOM_ACTIONS)
        return web.json_response(
            {"error": f"unknown action '{action}'; expected one of {expected}"}, status=404
        )
    channel = ""
    if ROOM_ACTIONS[action]:
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            raise _bad_request("the body is not JSON") from None
        channel = str(body.get("channel", "")) if isinstance(body, dict) else ""
        if not channel:
            raise _bad_request(f"'{action}' needs a participant's channel")
        if not CHANNEL.fullmatch(channel):
            raise _bad_request(f"not a channel name: {channel!r}")
    result: dict[str, str] = {"room": room, "action": action}
    match action:
        case "mute":
            await service.mute(room, channel)
        case "unmute":
            await service.unmute(room, channel)
        case "kick":
            await service.kick(room, channel)
        case "mute-all":
            await service.mute_all(room)
        case "unmute-all":
            await service.unmute_all(room)
        case "lock":
            await service.lock(room)
        case "unlock":
            await service.unlock(room)
        case "record":
            result["file"] = (await service.start_recording(room)).name
        case "stop-record":
            await service.stop_recording(room)
        case "end":
            await service.end(room)
    log.info("api.room_action room=%s action=%s", room, action)
    return web.json_response(result)


async def index(request: web.Request) -> web.Response:
    """A public page that says only whether the bridge reaches its PBX (the panel and the
    rooms need a login)."""
    pbx = request.app[SERVICE].status()["pbx"]
    body = (
        "<!doctype html><meta charset=utf-8><title>io-bridge</title>"
        f"<h1>io-bridge</h1><p id=pbx>PBX {pbx}</p>"
    )
    return web.Response(text=body, content_type="text/html")


def create_app(settings: Settings, service: BridgeService) -> web.Application:
    app = web.Application(middlewares=[errors_as_json])
    app[SERVICE] = service
    app[ADMIN_TOKEN] = settings.ensure_admin_token().get_secret_value()
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/status", status)
    app.router.add_get("/api/rooms/{room}", room_status)
    app.router.add_post("/api/rooms/{room}/{action}", room_action)
    return app
