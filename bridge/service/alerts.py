"""Alerts, live: a moderator's message checked and kept where Asterisk reads it, its numbers
queued as calls out (``bridge.service.dialout``: the same limits, pace and audit of who
asked), and each callee's dialogue (the ``alert`` FastAGI route) served.

The message is kept in the recordings folder's ``alerts/`` (``ALERT_ID.wav``): the one
folder both users reach when Asterisk runs as a user of its own (docs/admin.md "Two
users"). The service writes it readable by Asterisk's user (0644, its folder 0755): the
recordings folder above (2770, Asterisk's) keeps everyone else out, and root's next
render hands both to Asterisk's user and the service's group as it does recordings.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bridge.asterisk.alert import AlertOffer
from bridge.domain.accounts import Principal
from bridge.domain.alerts import Alert, BadMessage, check_message, may_alert
from bridge.domain.dialout import CallOut, CallState
from bridge.domain.entry import Admission, Refusal
from bridge.domain.rooms import RoomSpec
from bridge.errors import AlertRefused, DialOutRefused, NoSuchAlert, NoSuchRoom, NotAllowed
from bridge.service.audit import AuditTrail
from bridge.service.dialout import DialOut
from bridge.store.alerts import add_alert, list_alerts, load_alert
from bridge.store.db import Database

log = logging.getLogger(__name__)

MESSAGES = "alerts"  # in the recordings folder


class AlertAsked(BaseModel):
    """What the audit trail keeps of an alert (the numbers are the calls' own rows)."""

    alert: str
    numbers: int
    room: str | None
    trunk: str | None
    seconds: float
    retries: int = 0
    retry_after: float = 0.0


class AlertCancelled(BaseModel):
    alert: str


class Alerts:
    def __init__(
        self,
        db: Database,
        dialout: DialOut,
        audit: AuditTrail,
        recordings_dir: Path,
        find_room: Callable[[str], Awaitable[RoomSpec | None]],
    ) -> None:
        self.db = db
        self.dialout = dialout
        self.audit = audit
        self.messages = recordings_dir / MESSAGES
        self._find_room = find_room
        self._live: dict[str, Alert] = {}  # sent since the service started

    # ---- what moderators ask -----------------------------------------------------------

    async def send(
        self,
        principal: Principal,
        lines: list[str],
        message: bytes,
        room: str | None,
        trunk: str | None,
        retries: int = 1,
        retry_after: float = 60.0,
    ) -> tuple[Alert, list[CallOut]]:
        """Ring ``lines``' numbers with ``message`` (and offer ``room``); a number busy,
        unanswered or failed is tried ``retries`` more times, ``retry_after`` seconds apart.
        Refused whole, with nothing dialled, at the first problem."""
        if not may_alert(principal, room):
            where = f"a host of room '{room}'" if room else "the admin (an alert with no room)"
            raise NotAllowed(f"{principal.username} may not send an alert: only {where}")
        spec = None
        if room is not None:
            spec = await self._find_room(room)
            if spec is None:
                raise NoSuchRoom(room, "there is no such room")
        try:
            seconds = check_message(message)
        except BadMessage as exc:
            raise AlertRefused(str(exc)) from None
        alert_id = f"alert-{secrets.token_hex(6)}"
        asked = AlertAsked(
            alert=alert_id, numbers=len(lines), room=room, trunk=trunk,
            seconds=round(seconds, 2), retries=retries, retry_after=retry_after,
        )  # fmt: skip

        async def run() -> dict[str, Any]:
            await asyncio.to_thread(self._keep_message, alert_id, message)
            try:
                calls = await self.dialout.queue(
                    spec, principal.username, lines, trunk, confirm=False, retries=retries,
                    alert=alert_id, retry_after=retry_after,
                )  # fmt: skip
            except DialOutRefused as exc:
                self._message(alert_id).with_suffix(".wav").unlink(missing_ok=True)
                raise AlertRefused(str(exc)) from None
            alert = Alert(alert_id, principal.username, self.dialout.clock(), room, trunk, seconds)
            async with self.db.sessions.begin() as session:
                await add_alert(session, alert)
            held = {call.alert for call in self.dialout.book.calls.values()}
            self._live = {a: sent for a, sent in self._live.items() if a in held}  # forgotten
            self._live[alert_id] = alert
            log.info("alert.sent alert=%s by=%s numbers=%d", alert_id, alert.asked_by, len(calls))
            return {"alert": alert, "calls": calls}

        done = await self.audit.perform(principal.username, room or "", "alert", asked, run)
        return done["alert"], done["calls"]

    async def show(self, principal: Principal, alert_id: str) -> tuple[Alert, list[CallOut]]:
        live, calls = self._live.get(alert_id), self.dialout.book.calls_of_alert(alert_id)
        found: tuple[Alert, list[CallOut]] | None = None
        if live is not None and calls:
            found = (live, calls)
        else:  # sent before the service started, or over long enough to be forgotten
            self._live.pop(alert_id, None)
            async with self.db.sessions() as session:
                found = await load_alert(session, alert_id)
        if found is None or not may_alert(principal, found[0].room):
            raise NoSuchAlert(alert_id)  # another's alert: as if there were none
        return found

    async def cancel(self, principal: Principal, alert_id: str) -> tuple[Alert, list[CallOut]]:
        """Stop an alert: its numbers not yet called (or waiting to be tried again) are not
        called, and those ringing or
        hearing the message are hung up (one who joined the room stays). Audited."""
        alert, _ = await self.show(principal, alert_id)  # refused as show refuses

        async def run() -> dict[str, Any]:
            cancelled = await self.dialout.cancel_alert(alert_id)
            log.info("alert.cancelled alert=%s calls=%d", alert_id, len(cancelled))
            return {"cancelled": len(cancelled)}

        await self.audit.perform(
            principal.username,
            alert.room or "",
            "alert-cancel",
            AlertCancelled(alert=alert_id),
            run,
        )
        return await self.show(principal, alert_id)

    async def listed(self, principal: Principal) -> list[tuple[Alert, list[CallOut]]]:
        """The latest alerts this principal may see, newest first."""
        async with self.db.sessions() as session:
            alerts = [a for a in await list_alerts(session) if may_alert(principal, a.room)]
        return [await self.show(principal, alert.id) for alert in alerts]

    # ---- the callee's dialogue (the ``alert`` FastAGI route) ---------------------------

    def alert_answered(self, call_id: str, channel: str) -> AlertOffer | None:
        call = self.dialout.book.calls.get(call_id)
        alert = self._live.get(call.alert) if call is not None else None
        if alert is None or self.dialout.picked_up(call_id, channel) is None:
            return None
        language, title = self.dialout.spoken_room(alert.room) if alert.room else ("", None)
        return AlertOffer(
            self._message(alert.id), alert.room, self.dialout.settings.dialout_key_seconds,
            language, title,
        )  # fmt: skip

    def heard(self, call_id: str) -> None:
        self.dialout.heard(call_id)

    def refused_offer(self, call_id: str, outcome: CallState) -> None:
        self.dialout.refused_offer(call_id, outcome)

    async def enter_room(self, room: str) -> Admission | Refusal:
        return await self.dialout.enter_room(room)

    # ---- the message on disk -----------------------------------------------------------

    def _message(self, alert_id: str) -> Path:
        """The message as Asterisk names a sound: its path without ``.wav``."""
        return self.messages / alert_id

    def _keep_message(self, alert_id: str, message: bytes) -> None:
        setgid = (
            self.messages.parent.exists() and self.messages.parent.stat().st_mode & stat.S_ISGID
        )
        self.messages.mkdir(parents=True, exist_ok=True)
        self.messages.chmod(0o755 | (stat.S_ISGID if setgid else 0))
        path = self._message(alert_id).with_suffix(".wav")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(descriptor, "wb") as file:
            file.write(message)
        path.chmod(0o644)  # whatever the umask: Asterisk's user reads it as "other"
