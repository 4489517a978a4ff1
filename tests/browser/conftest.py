"""Fixtures for the panel's tests: Debian's Chromium driven by Playwright against the
session's real stack (Asterisk, the service, the web app), SIPp callers in the room, and
moderators from tests/data/rooms-e2e.yaml (their passwords: the username + "-panel-pw")."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.sipcaller import Caller
from tests.integration.conftest import (  # noqa: F401  (the dial fixture, shared)
    Dial,
    dial,
    fresh_loopback,
)
from tests.support import (
    JOIN_SECONDS,
    AmiWatcher,
    event,
    eventually,
    keypad_answers,
    roster_rows,
    shared_temp,
    startup_slot,
)

ROOM = "e2e-panel"  # alice and bob moderate it; carol does not (she has e2e-open)
PIN = "8642#"
MODERATOR_PIN = "8643#"
SHORT_ROOM, SHORT_PIN = "e2e-panel-short", "8652#"  # muted on entry, 20 s turns
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own browsers are not downloaded
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Caller IDs that read like phone numbers (the screenshots show them) and are unique in the
# session, so AMI events are this test's own.
_numbers = itertools.count(random.randrange(1000, 8000))

# How long a page may take to show what a test waits for. The suite runs eight workers on two
# cores, each with its Asterisk, service and Chromium. There, once, Auto-advance was done
# (audited) but not shown pressed within 5 s (CI, 2026-12-07; 12 runs of that test beside
# two busy loops did not repeat it). How soon a page shows a change is the benches' figure
# (bench/panel.py, bench/room_page.py), not a test's.
expect.set_options(timeout=15_000)


def phone_number() -> str:
    return f"555{next(_numbers):04d}"


def password_of(username: str) -> str:
    return f"{username}-panel-pw"


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make system does)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(
    chromium_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        async with startup_slot(shared_temp(tmp_path_factory)):
            chromium = await playwright.chromium.launch(
                executable_path=str(chromium_path), args=CHROMIUM_ARGS
            )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture(autouse=True)
async def no_script_errors(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[None]:
    """An error the page's script throws and nothing catches fails the test that opened the
    page: a half-drawn page otherwise shows only as a button that never changes."""
    if "browser" not in request.fixturenames:
        yield
        return
    browser: Browser = request.getfixturevalue("browser")
    errors: list[str] = []
    new_context = browser.new_context

    async def watched(**options: Any) -> BrowserContext:
        context = await new_context(**options)
        context.on(
            "weberror",
            lambda error: errors.append(
                f"{error.page and error.page.url}: {error.error.stack or error.error}"
            ),
        )
        return context

    monkeypatch.setattr(browser, "new_context", watched)
    yield
    assert not errors, "the page's script threw:\n" + "\n".join(errors)


@pytest.fixture
def base_url(runtime_settings: Settings, runtime: Any) -> str:
    return f"http://127.0.0.1:{runtime_settings.http_port}"


OpenPanel = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_panel(browser: Browser, base_url: str) -> AsyncIterator[OpenPanel]:
    """A logged-in browser (its own context: its own cookies) on ``path``."""
    contexts: list[BrowserContext] = []

    async def open_as(
        username: str, path: str = f"/rooms/{ROOM}", viewport: dict[str, int] = LAPTOP
    ) -> Page:
        context = await browser.new_context(viewport=viewport, base_url=base_url)  # type: ignore[arg-type]
        contexts.append(context)
        page = await context.new_page()
        await page.goto(path)
        await log_in(page, username)
        await page.wait_for_url(re.compile(re.escape(path) + "$"))
        if path.startswith("/rooms/"):
            await expect(page.locator("#connection")).to_have_text("Live")
        return page

    yield open_as
    for context in contexts:
        await context.close()


async def log_in(page: Page, username: str, password: str | None = None) -> None:
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password or password_of(username))
    await page.get_by_role("button", name="Log in").click()


@dataclass(frozen=True)
class InRoom:
    channel: str
    caller_id: str
    caller: Caller  # to press the keys planned with ``later_keys`` (see ``press``)
    room: str = ROOM


Join = Callable[..., Awaitable[InRoom]]


@pytest.fixture
def join(ami: AmiWatcher, dial: Dial, service: BridgeService) -> Join:  # noqa: F811
    """A SIPp caller in the panel's room (or the room of ``keys``), once Asterisk reported
    the join and the service's roster has it (the stack's commands wait for the room's
    stack to be read). Each caller dials from an address of their own, as people do: the
    guard counts a source's dialogues in progress against its budget, so a room filled by
    many callers at once from one address would be held back."""

    async def dial_in(keys: str = PIN, **options: Any) -> InRoom:
        caller_id = options.pop("caller_id", None) or phone_number()
        options.setdefault("local_ip", fresh_loopback())
        mark = ami.mark()
        caller = await dial(keys, caller_id=caller_id, **options)
        # The PIN dialogue takes a few seconds; on a loaded CI box, with other workers' calls
        # beside it, well over the watcher's default 15 s now and then.
        joined = await ami.wait_for(
            event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark, timeout=JOIN_SECONDS
        )
        channel, room = str(joined["Channel"]), str(joined["Conference"])
        await service.roster.wait_until(lambda: channel in roster(service, room))
        await service.roster.wait_until(lambda: room in service.speakers.stacks)
        return InRoom(channel, caller_id, caller, room)

    return dial_in


async def press(service: BridgeService, person: InRoom, keys: str) -> None:
    """Press keys in the room and wait until their answer has played: like a person, a test
    presses nothing while the answer plays (the caller is in the keys' dialplan then, and
    ConfBridge's menu does not hear them)."""
    answers = keypad_answers()
    mark = answers.mark()
    await person.caller.press(keys)
    await eventually(lambda: answers.heard(person.channel, since=mark), timeout=10, every=0.05)


async def only_these_in_the_room(service: BridgeService, *people: InRoom) -> None:
    """Wait until the room holds these callers alone (those of earlier tests have left), so
    the head of the stack is one of them."""
    room = people[0].room
    wanted = {p.channel for p in people}
    await service.roster.wait_until(lambda: set(roster(service, room)) == wanted, timeout=20)


def roster(service: BridgeService, room: str = ROOM) -> dict[str, dict[str, Any]]:
    return {p["channel"]: p for p in roster_rows(service.switchboard, room)}


async def asterisk_list(service: BridgeService, room: str = ROOM) -> dict[str, dict[str, Any]]:
    """Asterisk's own roster (ConfbridgeList), by channel."""
    replies = await service.ami.send({"Action": "ConfbridgeList", "Conference": room})
    return {str(m["Channel"]): dict(m) for m in replies if m.get("Event") == "ConfbridgeList"}


# ---- plain HTTP, for what a browser would not even send ----------------------------------


@dataclass
class HttpModerator:
    """A moderator's session over plain HTTP: its cookie jar and CSRF token."""

    http: aiohttp.ClientSession
    base_url: str
    csrf: str

    async def post_action(
        self, room: str, action: str, body: dict[str, Any], **headers: str
    ) -> aiohttp.ClientResponse:
        wanted = {"Origin": self.base_url, "X-CSRF-Token": self.csrf, **headers}
        sent = {k: v for k, v in wanted.items() if v != ""}
        async with self.http.post(
            f"{self.base_url}/rooms/{room}/actions/{action}", json=body, headers=sent
        ) as response:
            await response.read()
            return response


HttpLogin = Callable[[str], Awaitable[HttpModerator]]
CSRF_META = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


@pytest.fixture
async def http_login(base_url: str) -> AsyncIterator[HttpLogin]:
    sessions: list[aiohttp.ClientSession] = []

    async def log_in_over_http(username: str) -> HttpModerator:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(http)
        form = {"username": username, "password": password_of(username), "next": "/rooms"}
        async with http.post(
            f"{base_url}/login", data=form, headers={"Origin": base_url}
        ) as response:
            page = await response.text()
        found = CSRF_META.search(page)
        assert found, "no CSRF token on the rooms page: did the login fail?"
        return HttpModerator(http, base_url, found.group(1))

    yield log_in_over_http
    for http in sessions:
        await http.close()
