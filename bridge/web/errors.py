"""Every failure answered in one place: named failures (``bridge.errors``) with their own
status and message, aiohttp's own (unknown route 404, wrong method 405, body too large
413 ...) and unexpected ones (500, logged with the traceback, never shown).

The API (``/api/...``) and every request that does not ask for a page answer JSON:
``{"error": {"code": "...", "message": "..."}}``, a 401 with ``WWW-Authenticate: Bearer``
on the API. A browser asking for a page (``Accept: text/html``) gets the panel's error
page instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bridge.errors import BridgeError
from bridge.web.panel.pages import error_page

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_PREFIX = "/api/"
CHALLENGE = 'Bearer realm="io-bridge"'

# aiohttp's own failures, by status: the code scripts read.
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


def json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _http_message(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status == 404:
        return f"nothing at {request.path} (the API is under /api/v1: see /api/v1/docs)"
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        return f"{request.method} is not allowed on {request.path}; allowed: {allowed}"
    return exc.reason or f"HTTP {exc.status}"


def _wants_page(request: web.Request) -> bool:
    return not request.path.startswith(API_PREFIX) and "text/html" in request.headers.get(
        "Accept", ""
    )


async def _answer(request: web.Request, status: int, code: str, message: str) -> web.StreamResponse:
    if _wants_page(request):
        return await error_page(request, status, message)
    response = json_error(status, code, message)
    if status == 401 and request.path.startswith(API_PREFIX):
        error = ', error="invalid_token"' if code == "invalid_token" else ""
        response.headers["WWW-Authenticate"] = CHALLENGE + error
    return response


@web.middleware
async def answer_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BridgeError as exc:
        return await _answer(request, exc.status, exc.code, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects (to the login page ...) are answers, not failures
        code = HTTP_CODES.get(exc.status, "http_error")
        response = await _answer(request, exc.status, code, _http_message(request, exc))
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except (asyncio.CancelledError, ConnectionResetError):
        raise  # the client went away: nothing to answer
    except Exception:
        log.exception("http.unexpected_error method=%s path=%s", request.method, request.path)
        message = "unexpected error in the service (its log has the details)"
        return await _answer(request, 500, "internal_error", message)
