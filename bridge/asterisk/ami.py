"""The AMI connection: events in, actions out, reconnect with backoff.

panoramisk's ``Manager`` speaks the protocol; this module owns its lifecycle. panoramisk
reconnects on its own at a fixed pace and replays actions that were in flight when the
link dropped; here a supervisor task reconnects with backoff instead, and an action in
flight when the link drops fails with ``PbxUnavailable`` rather than running later,
when a moderator has long moved on.

This relies on panoramisk 1.4 internals (``connection_lost``, ``awaiting_actions``,
``authenticated_future``, ``pinger``), which is why pyproject pins the 1.4 series.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message
from pydantic import SecretStr

from bridge.errors import (
    ActionRefused,
    AlreadyRecording,
    BadField,
    BridgeError,
    NoSuchParticipant,
    NoSuchRoom,
    NotRecording,
    PbxUnavailable,
    PbxUnconfirmed,
)
from bridge.settings import Settings

log = logging.getLogger(__name__)


class AmiLoginRefused(BridgeError):
    """Asterisk refused the AMI user's login (a wrong secret, or a user it does not know)."""

    status = 503
    code = "pbx_login_refused"


def error_for(action: dict[str, str], message: str) -> BridgeError:
    """Turn app_confbridge's error text for ``action`` into a named exception."""
    text = message.lower()
    room = action.get("Conference", "")
    if "no active conferences" in text or "no conference by that name" in text:
        return NoSuchRoom(room)
    if "no channel by that name" in text:
        return NoSuchParticipant(room, action.get("Channel", ""))
    if "already being recorded" in text:
        return AlreadyRecording(room)
    if "while stopping recording" in text:  # what ConfBridge says when nothing records
        return NotRecording(room)
    return ActionRefused(f"{action.get('Action', '?')} failed: {message}")


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager without its own reconnect loop: AmiClient supervises instead.

    Overrides a panoramisk 1.4 internal (``connection_lost``); see the module docstring."""

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        self.authenticated = False
        pinger: asyncio.TimerHandle | None = getattr(self, "pinger", None)
        if pinger is not None:
            pinger.cancel()
            self.pinger = None
        self.on_disconnect(self, exc)


EventSink = Callable[[Message], None]
StateSink = Callable[[bool], Awaitable[None]]


class AmiClient:
    """Keeps one logged-in AMI connection, forwarding every event to ``on_event``.

    ``on_event`` is called synchronously in the reader: it must not block or await.
    ``on_connected(True)`` runs after each login (the service resyncs there);
    ``on_connected(False)`` after each loss.
    """

    @classmethod
    def of_settings(
        cls, settings: Settings, on_event: EventSink, on_connected: StateSink
    ) -> AmiClient:
        """The link to the one Asterisk the settings name (on this machine)."""
        return cls(
            host="127.0.0.1",
            port=settings.ami_port,
            username=settings.ami_username,
            secret=settings.ensure_ami_secret(),
            on_event=on_event,
            on_connected=on_connected,
            action_timeout=settings.ami_action_timeout,
            ping_every=settings.ami_ping_seconds,
        )

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: SecretStr,
        on_event: EventSink,
        on_connected: StateSink,
        action_timeout: float = 5.0,
        max_backoff: float = 2.0,
        ping_every: float = 10.0,
        ping_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self._username = username
        self._secret = secret
        self._on_event = on_event
        self._watchers: list[EventSink] = []  # adapters of this link (``watch``)
        self._on_connected = on_connected
        self.action_timeout = action_timeout
        self.max_backoff = max_backoff
        self.ping_every = ping_every
        self.ping_timeout = ping_timeout
        self._closed = False
        self.connected = asyncio.Event()
        self._lost = asyncio.Event()
        self._manager: _Manager | None = None

    async def run(self) -> None:
        """Connect, and reconnect with backoff, until cancelled."""
        delay = 0.1
        complained = False
        while not self._closed:
            try:
                await self._connect_once()
            except (OSError, TimeoutError, BridgeError) as exc:
                if self._closed:
                    return
                if not complained:
                    log.warning(
                        "ami.unreachable host=%s port=%s reason=%s (retrying)",
                        self.host,
                        self.port,
                        exc,
                    )
                    complained = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            complained = False
            log.info("ami.connected host=%s port=%s", self.host, self.port)
            try:
                await self._on_connected(True)
            except Exception as exc:
                # The service could not resync (a list timed out, the database failed):
                # drop the link, so the next connection resyncs again after the backoff.
                log.error("ami.on_connected_failed reason=%r (reconnecting)", exc)
                self._drop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
            else:
                delay = 0.1
            await self._watch(self.ping_every)
            if self._closed:
                return
            log.warning("ami.disconnected host=%s port=%s", self.host, self.port)
            await self._on_connected(False)

    async def _watch(self, every: float = 10.0) -> None:
        """Until the link drops: ping now and then, and drop a link Asterisk no longer
        answers on (a hung Asterisk keeps its TCP socket open)."""
        while not self._lost.is_set():
            try:
                await asyncio.wait_for(self._lost.wait(), every)
            except TimeoutError:
                try:
                    await self.send({"Action": "Ping"}, timeout=self.ping_timeout)
                except BridgeError:
                    log.warning(
                        "ami.unresponsive host=%s port=%s (reconnecting)", self.host, self.port
                    )
                    self._drop()

    async def _connect_once(self) -> None:
        loop = asyncio.get_running_loop()
        self._lost.clear()
        booted = asyncio.Event()
        gone = asyncio.Event()  # this link dropped before it became the current one
        manager = _Manager(
            host=self.host,
            port=self.port,
            username=self._username,
            secret=self._secret.get_secret_value(),
            loop=loop,
            # Our own watchdog pings (_watch); panoramisk's pinger never reads the replies.
            ping_delay=86400,
            ping_interval=86400,
            on_disconnect=functools.partial(self._link_lost, gone),
            log=logging.getLogger("bridge.asterisk.panoramisk"),
        )
        manager.register_event("*", self._dispatch)
        manager.register_event("FullyBooted", lambda *_: booted.set())
        transport, protocol = await asyncio.wait_for(
            loop.create_connection(AMIProtocol, self.host, self.port), timeout=5
        )
        done: asyncio.Future[tuple[Any, Any]] = loop.create_future()
        done.set_result((transport, protocol))
        manager.connection_made(done)
        login = manager.authenticated_future
        try:
            reply = await asyncio.wait_for(asyncio.shield(login), timeout=5)
        except BaseException:
            manager.close()
            raise
        if not reply.success:
            manager.close()
            raise AmiLoginRefused(f"AMI login refused for user '{self._username}'")
        # AMI listens before Asterisk has loaded ConfBridge: a resync then would fail.
        # Asterisk sends FullyBooted at login once booted, or when it gets there.
        waits = [asyncio.ensure_future(booted.wait()), asyncio.ensure_future(gone.wait())]
        try:
            await asyncio.wait(waits, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        if not booted.is_set() or self._closed:
            manager.close()
            raise PbxUnavailable(
                "Asterisk did not finish booting" if not gone.is_set() else "link lost"
            )
        self._manager = manager
        self.connected.set()

    def _link_lost(self, gone: asyncio.Event, lost: Any, exc: Exception | None) -> None:
        gone.set()
        self._disconnected(lost, exc)

    def _disconnected(self, lost: Any, exc: Exception | None) -> None:
        if lost is not self._manager or lost is None:
            return
        self.connected.clear()
        self._manager = None
        # Actions in flight will never be answered by this connection: fail them now.
        for action in list(lost.awaiting_actions):
            if not action.future.done():
                action.future.set_exception(PbxUnconfirmed("connection to Asterisk lost"))
        lost.awaiting_actions.clear()
        self._lost.set()

    def _drop(self) -> None:
        manager = self._manager
        if manager is not None:
            with contextlib.suppress(Exception):
                manager.close()  # panoramisk does not report a close it made itself
            self._disconnected(manager, None)

    def watch(self, sink: EventSink) -> None:
        """``sink`` hears every event of this link, before the service does: for an adapter
        that answers Asterisk on the same link (``conference.WhisperStarts``)."""
        self._watchers.append(sink)

    def _dispatch(self, manager: Manager, message: Message) -> None:
        if manager is self._manager:
            for sink in self._watchers:
                sink(message)
            self._on_event(message)

    async def send(
        self, action: dict[str, str], timeout: float | None = None, *, queued: bool = False
    ) -> list[Message]:
        """Send one action; return its reply (and any list events), or raise a named BridgeError
        (``PbxUnconfirmed`` when it was sent and no answer came: it may have been carried out).

        ``queued``: an asynchronous Originate's reply is "successfully queued", at once;
        panoramisk would otherwise hold the reply until the call is answered or fails (its
        OriginateResponse), which for a call out is half a minute of ringing. With it, the
        OriginateResponse reaches ``on_event`` like any event."""
        for key, value in action.items():
            if "\r" in value or "\n" in value:
                raise BadField(f"{key} may not contain a line break")
        manager = self._manager
        if manager is None or not self.connected.is_set():
            raise PbxUnavailable()
        future = manager.send_action(dict(action), as_list=False if queued else None)
        try:
            reply = await asyncio.wait_for(future, timeout or self.action_timeout)
        except TimeoutError:
            raise PbxUnconfirmed(
                f"no answer to {action.get('Action')} within {timeout or self.action_timeout} s"
            ) from None
        finally:
            if future.cancelled():  # timed out, or our caller gave up: forget it
                _forget(manager, future)
        messages = reply if isinstance(reply, list) else [reply]
        first = messages[0]
        if first.get("Response") == "Error" or not first.success:
            raise error_for(action, str(first.get("Message", "")))
        return messages

    def actions_in_flight(self) -> int:
        """Actions sent on the current link and not yet answered (panoramisk's table)."""
        manager = self._manager
        protocol = getattr(manager, "protocol", None)
        return len({id(a) for a in getattr(protocol, "responses", {}).values()})

    async def close(self) -> None:
        """Stop for good: no reconnect, no more events."""
        self._closed = True
        self._lost.set()
        manager, self._manager = self._manager, None
        self.connected.clear()
        if manager is not None:
            with contextlib.suppress(Exception):
                manager.close()


def _forget(manager: Manager, future: asyncio.Future[Any]) -> None:
    """Drop an action nobody waits for from panoramisk's table of actions in flight: it
    removes an action only when a reply completes its future, and a cancelled future is
    never completed, so a late (or missing) reply would keep it for the link's lifetime."""
    responses: dict[str, Any] = getattr(getattr(manager, "protocol", None), "responses", {})
    for key in [key for key, sent in responses.items() if sent.future is future]:
        del responses[key]
