"""Logins, panel sessions and the audit trail in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import argon2
import pytest
from sqlalchemy import select

from bridge.domain.accounts import Via
from bridge.domain.rooms import ModeratorSpec, RoomsConfig, RoomSpec
from bridge.errors import LoginRefused, LoginsBusy, TooManyLogins
from bridge.service.accounts import (
    SESSION_CACHE_SECONDS,
    Accounts,
    PanelSession as UserSession,
    token_hash,
)
from bridge.settings import Settings
from bridge.store.audit import ActionRecord, actions_of_call, add_action, recent_actions
from bridge.store.db import Database
from bridge.store.models import Call, Moderator, PanelSession
from bridge.store.rooms import sync_rooms
from tests.support import TEST_PIN_KEY

OLD_HASHER = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NEW_HASHER = argon2.PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
PASSWORD = "correct horse battery staple"
GA = RoomSpec(name="ga", title="General assembly", pin="1111")
WG = RoomSpec(name="wg", title="Working group", pin="2222")
CONFIG = RoomsConfig(
    rooms=(GA, WG),
    moderators=(
        ModeratorSpec("alice", OLD_HASHER.hash(PASSWORD), ("*",)),
        ModeratorSpec("bob", OLD_HASHER.hash(PASSWORD), ("wg",)),
    ),
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def _later(accounts: Accounts, seconds: float) -> None:
    clock = accounts._clock
    assert isinstance(clock, Clock)
    clock.now += seconds


@pytest.fixture
async def accounts(db: Database) -> Accounts:
    async with db.sessions.begin() as session:
        await sync_rooms(session, CONFIG, pin_key=TEST_PIN_KEY)
    settings = Settings(login_failures_per_username=3, panel_session_hours=1)
    return Accounts(settings, db, hasher=NEW_HASHER, clock=Clock())


async def test_a_good_password_opens_a_session_with_the_rooms_granted(accounts: Accounts) -> None:
    opened = await accounts.log_in("bob", PASSWORD, "10.0.0.1")
    assert opened.principal.username == "bob" and opened.principal.rooms == {"wg"}
    found = await accounts.session(opened.token)
    assert found is not None and found.principal == opened.principal
    assert found.csrf == opened.csrf


async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    accounts: Accounts,
) -> None:
    with pytest.raises(LoginRefused) as wrong:
        await accounts.log_in("bob", "not it", "10.0.0.1")
    with pytest.raises(LoginRefused) as unknown:
        await accounts.log_in("nobody", PASSWORD, "10.0.0.1")
    assert str(wrong.value) == str(unknown.value) == "Wrong username or password."


async def test_too_many_wrong_passwords_block_even_the_right_one(accounts: Accounts) -> None:
    for _ in range(3):
        with pytest.raises(LoginRefused):
            await accounts.log_in("bob", "guess", "10.0.0.1")
    with pytest.raises(TooManyLogins) as blocked:
        await accounts.log_in("bob", PASSWORD, "10.0.0.2")
    assert blocked.value.status == 429 and "15 minutes" in str(blocked.value)


async def test_sessions_are_stored_hashed_and_survive_a_restart(
    accounts: Accounts, db: Database, database_url: str
) -> None:
    opened = await accounts.log_in("alice", PASSWORD, "10.0.0.1")
    async with db.sessions() as session:
        stored = list(await session.scalars(select(PanelSession.token_hash)))
    assert stored == [token_hash(opened.token)] and opened.token not in stored

    restarted = Database(database_url)
    try:
        again = Accounts(Settings(), restarted, hasher=NEW_HASHER, clock=accounts._clock)
        found = await again.session(opened.token)
        assert found is not None and found.principal.username == "alice"
    finally:
        await restarted.dispose()


async def test_a_login_rotates_the_session_and_a_logout_ends_it(accounts: Accounts) -> None:
    first = await accounts.log_in("alice", PASSWORD, "10.0.0.1")
    second = await accounts.log_in("alice", PASSWORD, "10.0.0.1", previous=first.token)
    assert second.token != first.token
    assert await accounts.session(first.token) is None
    await accounts.log_out(second.token)
    assert await accounts.session(second.token) is None


async def test_an_idle_session_expires(accounts: Accounts) -> None:
    opened = await accounts.log_in("alice", PASSWORD, "10.0.0.1")
    _later(accounts, 3601)
    assert await accounts.session(opened.token) is None


async def test_a_login_rehashes_an_old_hash_and_a_sync_does_not_call_it_a_change(
    accounts: Accounts, db: Database
) -> None:
    await accounts.log_in("bob", PASSWORD, "10.0.0.1")
    async with db.sessions() as session:
        bob = await session.scalar(select(Moderator).where(Moderator.username == "bob"))
    assert bob is not None and not NEW_HASHER.check_needs_rehash(bob.password_hash)
    assert bob.file_password_hash != bob.password_hash
    async with db.sessions.begin() as session:
        report = await sync_rooms(session, CONFIG, pin_key=TEST_PIN_KEY)
    assert report.empty
    assert (await accounts.log_in("bob", PASSWORD, "10.0.0.1")).principal.username == "bob"


async def test_a_room_taken_away_by_a_sync_is_gone_from_open_sessions(
    accounts: Accounts, db: Database
) -> None:
    opened = await accounts.log_in("bob", PASSWORD, "10.0.0.1")
    bob_on_ga = ModeratorSpec("bob", CONFIG.moderators[1].password_hash, ("ga",))
    fewer = RoomsConfig(rooms=CONFIG.rooms, moderators=(bob_on_ga,))
    async with db.sessions.begin() as session:
        await sync_rooms(session, fewer, pin_key=TEST_PIN_KEY)
    _later(accounts, SESSION_CACHE_SECONDS + 1)  # what a session knows is this fresh
    found = await accounts.session(opened.token)
    assert found is not None and found.principal.rooms == {"ga"}
    assert await accounts.principal_for("alice", Via.TOKEN) is None  # removed: no rights


async def test_a_moderator_removed_from_the_file_loses_their_sessions(
    accounts: Accounts, db: Database
) -> None:
    opened = await accounts.log_in("bob", PASSWORD, "10.0.0.1")
    async with db.sessions.begin() as session:
        await sync_rooms(session, RoomsConfig(rooms=CONFIG.rooms), pin_key=TEST_PIN_KEY)
    _later(accounts, SESSION_CACHE_SECONDS + 1)
    assert await accounts.session(opened.token) is None


async def test_an_action_is_stored_with_the_call_open_in_its_room(db: Database) -> None:
    at = datetime(2026, 3, 2, 20, 14, 3, tzinfo=UTC)
    async with db.sessions.begin() as session:
        call = Call(room_name="ga", started_at=at)
        session.add(call)
        await session.flush()
        stored = await add_action(
            session, ActionRecord("ga", at, "alice", "mute", "PJSIP/a-1", "5550123")
        )
        await add_action(session, ActionRecord("wg", at, "admin", "lock"))
    assert stored.call_id == call.id
    async with db.sessions() as session:
        in_call = await actions_of_call(session, call.id)
        latest = await recent_actions(session, "wg")
    assert [(a.actor, a.action, a.target_caller_id) for a in in_call] == [
        ("alice", "mute", "5550123")
    ]
    assert latest[0].call_id is None and latest[0].result == "ok"


async def test_a_session_in_use_still_ends_at_its_absolute_lifetime(db: Database) -> None:
    async with db.sessions.begin() as session:
        await sync_rooms(session, CONFIG, pin_key=TEST_PIN_KEY)
    settings = Settings(panel_session_hours=1, panel_session_max_hours=3)
    accounts = Accounts(settings, db, hasher=NEW_HASHER, clock=Clock())
    opened = await accounts.log_in("alice", PASSWORD, "10.0.0.1")
    for _ in range(11):  # used every 15 minutes: the idle hour never runs out
        _later(accounts, 15 * 60)
        assert await accounts.session(opened.token) is not None
    _later(accounts, 15 * 60 + 1)  # 3 hours after the login
    assert await accounts.session(opened.token) is None


async def test_a_password_changed_in_the_file_ends_sessions_and_revokes_tokens(
    accounts: Accounts, db: Database
) -> None:
    from bridge.service.tokens import ApiTokens

    tokens = ApiTokens(db, clock=accounts._clock)
    bob = await accounts.log_in("bob", PASSWORD, "10.0.0.1")
    alice = await accounts.log_in("alice", PASSWORD, "10.0.0.1")
    bobs_token = await tokens.create("bob")
    alices_token = await tokens.create("alice")
    new_bob = ModeratorSpec("bob", NEW_HASHER.hash("a new password"), ("wg",))
    changed = RoomsConfig(rooms=CONFIG.rooms, moderators=(CONFIG.moderators[0], new_bob))
    async with db.sessions.begin() as session:
        report = await sync_rooms(session, changed, pin_key=TEST_PIN_KEY)
    assert report.changed == ["moderator bob: password (sessions ended, tokens revoked)"]
    _later(accounts, SESSION_CACHE_SECONDS + 1)
    assert await accounts.session(bob.token) is None
    assert await tokens.principal(bobs_token.token) is None
    assert await accounts.session(alice.token) is not None  # the others keep theirs
    assert await tokens.principal(alices_token.token) is not None
    assert (await accounts.log_in("bob", "a new password", "10.0.0.1")).principal.username == "bob"


async def test_logins_sent_at_once_are_checked_no_more_than_the_limit(
    accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = 0
    verify = accounts._verify

    async def counting(stored: str | None, password: str) -> bool:
        nonlocal checked
        checked += 1
        return await verify(stored, password)

    monkeypatch.setattr(accounts, "_verify", counting)
    answers = await asyncio.gather(
        *(accounts.log_in("bob", f"guess {n}", "203.0.113.9") for n in range(12)),
        return_exceptions=True,
    )
    assert checked == 3  # login_failures_per_username in this fixture
    assert sum(isinstance(a, LoginRefused) for a in answers) == 3
    assert sum(isinstance(a, TooManyLogins) for a in answers) == 9


async def test_a_full_login_queue_answers_429_at_once_and_counts_no_failure(db: Database) -> None:
    async with db.sessions.begin() as session:
        await sync_rooms(session, CONFIG, pin_key=TEST_PIN_KEY)
    accounts = Accounts(Settings(login_queue=2), db, hasher=NEW_HASHER, clock=Clock())
    answers = await asyncio.gather(
        *(accounts.log_in("alice", PASSWORD, f"10.0.{n}.1") for n in range(5)),
        return_exceptions=True,
    )
    busy = [a for a in answers if isinstance(a, LoginsBusy)]
    assert len(busy) == 3 and busy[0].status == 429
    assert sum(isinstance(a, UserSession) for a in answers) == 2
    assert accounts.throttle.retry_after("alice", "10.0.4.1", Clock()()) == 0
    assert (await accounts.log_in("alice", PASSWORD, "10.0.4.1")).principal.username == "alice"


async def test_a_guesser_elsewhere_does_not_lock_a_moderator_out(accounts: Accounts) -> None:
    for n in range(5):
        with pytest.raises((LoginRefused, TooManyLogins)):
            await accounts.log_in("bob", "guess", f"203.0.113.{n}")
    assert (await accounts.log_in("bob", PASSWORD, "198.51.100.7")).principal.username == "bob"
