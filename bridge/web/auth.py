"""The panel's login on the HTTP side: the session cookie, the CSRF and Origin checks, and
the room check every handler makes before it acts.

The rules (each has a test):

- The cookie carries a random token; the database keeps only its hash
  (``bridge.service.accounts``). It is HttpOnly, SameSite=Strict, Secure when the request
  came over TLS, and replaced at every login.
- Every state-changing request (a POST, including login and logout) must come from this
  origin; with a session it must also carry the session's CSRF token (a form field or the
  ``X-CSRF-Token`` header). The websocket carries no commands, and refuses a foreign Origin.
  "This origin" is ``public_origin`` when the admin set it; otherwise the request's own Host,
  and only when that is an IP address or ``localhost``: any name can be pointed at this
  machine (DNS rebinding), so a name the install was not told about is refused.
- After login, the browser goes back only to a path of this site (``safe_next``).
- No session: pages redirect to ``/login``, JSON answers 401.
- A room the principal may not moderate: 403, before anything is read or done.

The JSON API builds its ``Principal`` from a bearer token instead (``bridge.web.api.auth``)
and makes the same ``may_moderate`` check.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit

from aiohttp import web

from bridge.domain.rooms import ROOM_NAME
from bridge.errors import BadField, NotAllowed, NotLoggedIn
from bridge.service.accounts import Accounts, PanelSession
from bridge.web.keys import PUBLIC_ORIGIN, SERVICE

COOKIE = "iobridge_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
_SESSION = web.RequestKey("panel_session", PanelSession)
_LOOKED_UP = web.RequestKey("panel_session_looked_up", bool)


async def current_session(request: web.Request) -> PanelSession | None:
    """The session of this request's cookie (looked up once per request)."""
    if _LOOKED_UP not in request:
        request[_LOOKED_UP] = True
        found = await request.app[SERVICE].accounts.session(request.cookies.get(COOKIE))
        if found is not None:
            request[_SESSION] = found
    return request.get(_SESSION)


async def page_session(request: web.Request) -> PanelSession:
    """For pages: the session, or a redirect to the login page that comes back here."""
    session = await current_session(request)
    if session is None:
        raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='')}")
    return session


async def json_session(request: web.Request) -> PanelSession:
    """For JSON and the websocket: the session, or 401."""
    session = await current_session(request)
    if session is None:
        raise NotLoggedIn("log in at /login first")
    return session


def check_same_origin(request: web.Request) -> None:
    """A request that changes state, or opens the live feed, must come from our own pages.
    Browsers send Origin with every POST and websocket; its absence is refused too."""
    origin = (request.headers.get("Origin") or "").lower()
    public = request.app.get(PUBLIC_ORIGIN)
    if public is not None:
        if origin != public:
            raise NotAllowed("this request did not come from the panel's own pages")
        return
    if not _literal_host(request.host):
        raise NotAllowed(
            f"this panel does not know the name {request.host[:100]!r}: the admin sets "
            "IOBRIDGE_PUBLIC_ORIGIN to the address moderators open"
        )
    if not origin or urlsplit(origin).netloc != request.host.lower():
        raise NotAllowed("this request did not come from the panel's own pages")


def _literal_host(host: str) -> bool:
    """An IP address or localhost (with or without a port): no DNS name stands between it
    and this machine."""
    name = urlsplit(f"//{host}").hostname
    if name is None:
        return False
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


async def check_csrf(request: web.Request, session: PanelSession, form_value: str | None) -> None:
    presented = request.headers.get(CSRF_HEADER) or form_value
    if not session.csrf_matches(presented):
        raise NotAllowed("the page's security token is missing or stale: reload the page")


async def state_changing_session(
    request: web.Request, form_value: str | None = None
) -> PanelSession:
    """For POSTs: same origin, logged in, and the session's CSRF token."""
    check_same_origin(request)
    session = await json_session(request)
    await check_csrf(request, session, form_value)
    return session


def room_of_request(request: web.Request, session: PanelSession) -> str:
    """The room named in the path, if it is a room name and this session may moderate it."""
    room = request.match_info["room"]
    if not ROOM_NAME.fullmatch(room):
        raise BadField(f"not a room name: {room!r} (expected a-z, 0-9 and -)")
    if not session.principal.may_moderate(room):
        raise NotAllowed(f"you may not moderate room '{room}'")
    return room


def client_address(request: web.Request) -> str:
    """The client's address, for the login throttle: the peer's, or what a trusted proxy
    says in X-Forwarded-For (``bridge.web.proxies``); from anyone else the header is
    ignored (anyone can send one)."""
    return request.remote or "unknown"


_COOKIE_IN_HEAD = re.compile(rb"(?:^|[;\s])" + COOKIE.encode() + rb"=([A-Za-z0-9_-]{1,200})")


def session_in_head(head: bytes, accounts: Accounts) -> bool:
    """Does a request's first bytes carry the cookie of a session seen live lately? For the
    connection limits (``bridge.web.limits``), before aiohttp parses anything."""
    for line in head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() != b"cookie":
            continue
        for found in _COOKIE_IN_HEAD.finditer(value):
            if accounts.seen_lately(found.group(1).decode("ascii")):
                return True
    return False


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    # No Max-Age: the browser forgets it when it closes; the server forgets an idle session.
    response.set_cookie(
        COOKIE, token, path="/", httponly=True, samesite="Strict", secure=request.secure
    )


def clear_session_cookie(response: web.StreamResponse, request: web.Request) -> None:
    response.del_cookie(COOKIE, path="/", samesite="Strict", secure=request.secure)


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path on this site. Browsers drop tabs and line
    breaks from a URL and read a backslash as a slash, so ``/%09/evil.example`` (a tab) is
    ``//evil.example``, another site: those are removed first, then the rest must be an
    ASCII path with exactly one leading slash, no scheme, no host, no control character."""
    cleaned = "".join(ch for ch in target or "" if ch not in "\t\r\n")
    parts = urlsplit(cleaned)
    if (
        not cleaned.startswith("/")
        or cleaned.startswith("//")
        or "\\" in cleaned
        or parts.scheme
        or parts.netloc
        or not cleaned.isascii()
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in cleaned)
    ):
        return "/rooms"
    return cleaned
