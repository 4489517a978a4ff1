"""Tokens for scripts: ``iobridge tokens create --user NAME`` gives a script a bearer token
for the JSON API that acts as that moderator, with that moderator's rooms. A scope narrows
it: ``--read-only`` (it may read, never act) and ``--rooms a,b`` (only those of the
moderator's rooms, even if the moderator has more; a room the moderator loses is gone from
the token too).

The token is shown once; the database keeps its SHA-256 (a copy of the database opens
nothing). A revoke, an expiry or a sync that removes the moderator or takes a room away
takes effect at the next request, from whichever process it came: the service keeps the
tokens it has seen in memory, by hash, only while the credentials' revision stays where it
was (database triggers bump it on every write to the tokens, the moderators, their rooms
and the rooms, migration 0013), and checks expiry itself. On SQLite that check is
``PRAGMA data_version`` in the loop's own thread, as for the rooms
(``bridge.store.room_cache``); elsewhere one primary-key read. Looking each token up in the
database cost a script's request several ms in a busy room. The admin token (the local
CLI's) is not one of these: see ``bridge.web.api.auth``.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bridge.domain.accounts import Principal, Via
from bridge.errors import BadField, NoSuchModerator, NoSuchToken
from bridge.service.accounts import token_hash
from bridge.store import accounts as account_store, rooms as room_store, tokens as store
from bridge.store.accounts import Account
from bridge.store.db import Database
from bridge.store.tokens import LiveToken, TokenRow

log = logging.getLogger(__name__)

PREFIX = "iob_"  # tells an io-bridge token apart in a script's secrets (and to scanners)
TOKEN_BYTES = 32
LONGEST = 200  # a presented token longer than this is not one of ours
TOUCH_EVERY = timedelta(minutes=5)  # how stale "last used" may get (no write per request)
# Every token expires: a forgotten script's secret must not open the API for ever.
DEFAULT_EXPIRY_DAYS = 90.0


@dataclass(frozen=True)
class NewToken:
    id: int
    username: str
    token: str = field(repr=False)
    expires_at: datetime | None


class ApiTokens:
    def __init__(
        self,
        db: Database,
        clock: Callable[[], float] = time.time,
        revision_now: Callable[[], int | None] | None = None,
    ) -> None:
        self.db = db
        self._clock = clock
        # The credentials' revision without a query (SQLite's in-loop probe), or None.
        self._revision_now = revision_now or (lambda: None)
        self._known: dict[str, LiveToken] = {}  # live tokens seen, by hash
        self._revision = -1  # of self._known; never a real one: the first use reads
        self.lookups = 0  # database lookups of a token (tests and benchmarks look)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def create(
        self,
        username: str,
        expires_days: float = DEFAULT_EXPIRY_DAYS,
        *,
        read_only: bool = False,
        rooms: frozenset[str] | None = None,
    ) -> NewToken:
        """A new token for moderator ``username``, expiring in ``expires_days`` (there are no
        tokens that never expire; one made before this rule keeps its own end, if any);
        ``rooms`` None: every room of the moderator's, else only those (each must be one)."""
        token = PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        now = self._now()
        expires_at = now + timedelta(days=expires_days)
        async with self.db.sessions.begin() as session:
            account = await account_store.find_account(session, username)
            if account is None:
                raise NoSuchModerator(username)
            if rooms is not None:
                known = {r for r in rooms if await room_store.find_room(session, r) is not None}
                _check_scope(account, rooms, known)
            token_id = await store.add_token(
                session, token_hash(token), account.id, now, expires_at, read_only, rooms
            )
        log.info(
            "token.created id=%d user=%s read_only=%s rooms=%s",
            token_id,
            username,
            read_only,
            "all" if rooms is None else ",".join(sorted(rooms)),
        )
        return NewToken(token_id, username, token, expires_at)

    async def list(self) -> list[TokenRow]:
        async with self.db.sessions() as session:
            return await store.list_tokens(session)

    async def revoke(self, token_id: int) -> TokenRow:
        async with self.db.sessions.begin() as session:
            revoked = await store.revoke_token(session, token_id, self._now())
        self._forget()
        if revoked is None:
            raise NoSuchToken(token_id)
        log.info("token.revoked id=%d user=%s", token_id, revoked.username)
        return revoked

    async def principal(self, token: str) -> Principal | None:
        """Whom a presented token acts for, with the rooms the database grants now; None
        for an unknown, revoked or expired token, or one whose moderator is gone."""
        if not token.startswith(PREFIX) or len(token) > LONGEST:
            return None
        now, key = self._now(), token_hash(token)
        revision = self._revision_now()
        if revision is None:  # not SQLite, or SQLite busy: one primary-key read
            async with self.db.sessions() as session:
                revision = await store.credentials_revision(session)
        if revision != self._revision:
            self._forget()
        found = self._known.get(key)
        if found is None or _stale(found, now):
            found = await self._look_up(key, now)
            if found is None:
                return None
        if found.expires_at is not None and found.expires_at <= now:
            self._known.pop(key, None)
            return None
        account = found.account
        moderator = account.principal(Via.TOKEN)
        return moderator.within(found.rooms, found.read_only)

    async def _look_up(self, key: str, now: datetime) -> LiveToken | None:
        """The token of this hash from the database (kept in memory when live); the
        revision is read first, so a change landing meanwhile marks the copy older than
        it is (the next request reads again), never newer."""
        self.lookups += 1
        async with self.db.sessions() as session:
            revision = await store.credentials_revision(session)
            if revision != self._revision:
                self._known.clear()
                self._revision = revision
            found = await store.find_live_token(session, key, now)
            if found is None:
                self._known.pop(key, None)
                return None
            if _stale(found, now):
                await store.mark_used(session, found.id, now)
                await session.commit()  # bumps the revision: the next request reads again
                found = replace(found, last_used_at=now)
        self._known[key] = found
        return found

    def _forget(self) -> None:
        self._known.clear()
        self._revision = -1


def _stale(token: LiveToken, now: datetime) -> bool:
    """Its "last used" is older than TOUCH_EVERY: time to write it again."""
    return token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY


def _check_scope(account: Account, wanted: frozenset[str], known: set[str]) -> None:
    """A token's rooms must be rooms of the rooms file that its moderator moderates."""
    if not wanted:
        raise BadField("rooms: name at least one room (or leave --rooms out for all of them)")
    unknown = sorted(wanted - known)
    if unknown:
        raise BadField(f"rooms: no room named {', '.join(unknown)} in the rooms file")
    outside = sorted(room for room in wanted if not (account.all_rooms or room in account.rooms))
    if outside:
        theirs = ", ".join(sorted(account.rooms)) or "none"
        raise BadField(
            f"rooms: {account.username} does not moderate {', '.join(outside)} "
            f"(their rooms: {theirs})"
        )
