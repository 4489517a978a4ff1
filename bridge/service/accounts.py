"""Accounts: checking a moderator's password, panel sessions, and who may moderate what.

This is the one rights core: the panel's login builds a ``Principal`` from a session, the
JSON API builds one from a bearer token (``principal_for(username, Via.TOKEN)`` once the
token is checked), the CLI's admin token is ``Principal.admin()``; every action is then
allowed or refused by ``Principal.may_moderate(room)``.

Passwords are argon2 hashes from the rooms file. Verifying one costs tens of milliseconds
and 64 MiB, so it runs in a thread, at most two at once (a login flood must not exhaust
memory), with at most ``login_queue`` logins waiting (more: 429 at once), and a hash made
with older parameters is replaced at the next good login.

A session ends after ``panel_session_hours`` without a request and ``panel_session_max_hours``
after its login, whatever its use; a logout is announced on ``ended`` (the hash of the
session's token), so the live feeds close that session's websockets at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bridge.domain.accounts import Attempt, LoginThrottle, Principal, ThrottleRules, Via
from bridge.errors import LoginRefused, LoginsBusy, TooManyLogins
from bridge.hub import Hub
from bridge.settings import Settings
from bridge.store import accounts as store
from bridge.store.db import Database

log = logging.getLogger(__name__)

TOKEN_BYTES = 32
# A session found in the database is trusted this long without asking again (every panel
# request and action asks): a logout here is immediate, a sync's change of rights takes
# effect within this time.
SESSION_CACHE_SECONDS = 5.0
# A session seen live this recently may use the connections kept for moderators.
SEEN_SECONDS = 15 * 60.0
TOUCH_EVERY = timedelta(minutes=5)  # how stale a session's "seen" time may get
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes any length; a megabyte "password" is an attack


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def csrf_token(session_token: str) -> str:
    """The session's CSRF token: derived from its secret, so nothing more is stored and it
    outlives a restart with the session itself."""
    key = session_token.encode("utf-8", "surrogateescape")
    return hmac.new(key, b"iobridge panel csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PanelSession:
    """A logged-in moderator: who, and the CSRF token their pages must send back."""

    principal: Principal
    token: str = field(repr=False)
    csrf: str = field(repr=False)

    def csrf_matches(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(
            self.csrf.encode(), (presented or "").encode("utf-8", "surrogateescape")
        )


class Accounts:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.hasher = hasher or PasswordHasher()
        self.session_lifetime = timedelta(hours=settings.panel_session_hours)
        self.session_max_lifetime = timedelta(hours=settings.panel_session_max_hours)
        self.login_queue = settings.login_queue
        self.ended: Hub[str] = Hub(256)  # the token hash of every session logged out
        self.throttle = LoginThrottle(
            ThrottleRules(
                per_username=settings.login_failures_per_username,
                per_address=settings.login_failures_per_address,
                window=settings.login_window_seconds,
            )
        )
        self._clock = clock
        self._recent: dict[str, tuple[float, PanelSession]] = {}  # token hash -> (until, it)
        self._seen: dict[str, float] = {}  # token hash -> until: sessions seen live lately
        self._hashing = asyncio.Semaphore(2)
        self._checking = 0  # logins between their queue check and their answer
        self._decoy_hash: str | None = None

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # ---- passwords --------------------------------------------------------------------

    async def authenticate(self, username: str, password: str, address: str) -> Principal:
        """The principal whose password this is; ``LoginRefused`` (the same for an unknown
        user as for a wrong password) or ``TooManyLogins`` otherwise."""
        if self._checking >= self.login_queue:
            log.warning("login.busy address=%s", address)
            raise LoginsBusy()
        attempt = self.throttle.reserve(username, address, self._clock())
        if not isinstance(attempt, Attempt):
            log.warning("login.throttled address=%s", address)
            raise TooManyLogins(attempt)
        self._checking += 1
        try:
            async with self.db.sessions() as session:
                account = await store.find_account(session, username)
            good = await self._verify(account.password_hash if account else None, password)
        finally:
            self._checking -= 1
        if account is None or not good:
            # The failure was counted by ``reserve``. An unknown name is not logged: it is
            # often a password typed in the wrong field.
            known = account.username if account else "(unknown)"
            log.info("login.refused user=%s address=%s", known, address)
            raise LoginRefused()
        self.throttle.succeeded(attempt)
        if self.hasher.check_needs_rehash(account.password_hash):
            await self._rehash(account.id, password)
        return account.principal(Via.SESSION)

    async def _verify(self, stored: str | None, password: str) -> bool:
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        async with self._hashing:
            if stored is None:
                # An unknown user costs the same time as a known one: no user enumeration.
                if self._decoy_hash is None:
                    self._decoy_hash = await asyncio.to_thread(self.hasher.hash, "decoy")
                stored = self._decoy_hash
            try:
                return await asyncio.to_thread(self.hasher.verify, stored, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

    async def _rehash(self, account_id: int, password: str) -> None:
        async with self._hashing:
            new_hash = await asyncio.to_thread(self.hasher.hash, password)
        async with self.db.sessions.begin() as session:
            await store.replace_password_hash(session, account_id, new_hash)
        log.info("login.rehashed account=%d", account_id)

    # ---- panel sessions ---------------------------------------------------------------

    async def log_in(
        self, username: str, password: str, address: str, previous: str | None = None
    ) -> PanelSession:
        """Check the password and open a new session (the token for the cookie); a session
        the browser already had is closed, so a login always rotates the cookie."""
        principal = await self.authenticate(username, password, address)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._now()
        async with self.db.sessions.begin() as session:
            account = await store.find_account(session, principal.username)
            if account is None:  # removed by a sync in the last milliseconds
                raise LoginRefused()
            if previous:
                self._recent.pop(token_hash(previous), None)
                await store.delete_session(session, token_hash(previous))
            await store.delete_expired_sessions(session, now)
            expires_at = now + min(self.session_lifetime, self.session_max_lifetime)
            await store.add_session(
                session, token_hash(token), account.id, now, expires_at, address
            )
        log.info("login.ok user=%s address=%s", principal.username, address)
        opened = PanelSession(principal, token, csrf_token(token))
        self._remember(token_hash(token), opened)
        return opened

    async def session(self, token: str | None) -> PanelSession | None:
        """The live session this cookie token opens, with the rights as the database says
        now; None when there is none (unknown, expired, or its moderator removed)."""
        if not token or len(token) > 200:
            return None
        key = token_hash(token)
        cached = self._recent.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        now = self._now()
        async with self.db.sessions() as session:
            found = await store.find_session(session, key, now)
            if found is None:
                self._recent.pop(key, None)
                return None
            if now - found.seen_at > TOUCH_EVERY:
                # Idle time slides with use; the lifetime since the login does not.
                until = min(
                    now + self.session_lifetime, found.created_at + self.session_max_lifetime
                )
                await store.touch_session(session, found.id, now, until)
                await session.commit()
        account = found.account
        principal = account.principal(Via.SESSION)
        opened = PanelSession(principal, token, csrf_token(token))
        self._remember(key, opened)
        return opened

    def _remember(self, key: str, opened: PanelSession) -> None:
        now = self._clock()
        if len(self._recent) > 1000:
            self._recent = {k: v for k, v in self._recent.items() if v[0] > now}
        self._recent[key] = (now + SESSION_CACHE_SECONDS, opened)
        if len(self._seen) > 10_000:
            self._seen = {k: until for k, until in self._seen.items() if until > now}
        self._seen[key] = now + SEEN_SECONDS

    def rights_changed(self, username: str) -> None:
        """A moderator was just granted a room (one they opened on demand): their sessions
        read their rights again at the next request, not after the cache's seconds."""
        self._recent = {
            key: cached
            for key, cached in self._recent.items()
            if cached[1].principal.username != username
        }

    def seen_lately(self, token: str) -> bool:
        """Was this a live session lately (no database: the HTTP server asks it before a
        connection is handed to aiohttp, to keep a share of them for moderators)?"""
        return self._seen.get(token_hash(token), 0.0) > self._clock()

    async def log_out(self, token: str) -> None:
        key = token_hash(token)
        self._recent.pop(key, None)
        self._seen.pop(key, None)
        async with self.db.sessions.begin() as session:
            await store.delete_session(session, key)
        self.ended.publish(key)

    # ---- rights -----------------------------------------------------------------------

    async def principal_for(self, username: str, via: Via) -> Principal | None:
        """The principal of a moderator account, rights as the database says now; for a
        credential other than a session (the API's tokens) once that credential is checked."""
        async with self.db.sessions() as session:
            account = await store.find_account(session, username)
        if account is None:
            return None
        return account.principal(via)

    async def rooms_of(self, principal: Principal) -> list[str]:
        """The active rooms ``principal`` may see, by name."""
        async with self.db.sessions() as session:
            names = await store.active_room_names(session)
        return principal.rooms_of(names)
