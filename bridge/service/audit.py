"""The audit trail: every moderator action (who, when, what, on whom, how it ended) is
stored with the room's call and shown to the room's other moderators.

``perform`` runs an action (a name, its arguments and a coroutine that does it) and
records the outcome, failures included. It knows no table of actions: the actions sit above
the service (``bridge.actions``), check the rights and hand their run here.

The record reaches the room's panels at once; its database row is written after the
action's answer, by one writer at a time in the order of the actions (a script waiting for
the answer does not wait for the disk: the answer went from 2 to 15 ms p50 in a room of
400 when it did). Whoever reads the trail from the database here waits for the rows still
being written first, and the service waits for them on stop.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from bridge.domain.roster import Switchboard
from bridge.errors import BridgeError
from bridge.hub import Hub
from bridge.service.tasks import Writer
from bridge.store.audit import ActionRecord, actions_of_call, add_action, recent_actions
from bridge.store.db import Database

log = logging.getLogger(__name__)

RECENT = 50  # actions kept in memory per room, for the panels


class AuditTrail:
    def __init__(
        self, db: Database, switchboard: Switchboard, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.switchboard = switchboard
        self.changes: Hub[str] = Hub()  # names of rooms whose trail grew
        self._recent: dict[str, deque[ActionRecord]] = {}
        self._clock = clock
        self._unwritten: deque[ActionRecord] = deque()  # in the order of the actions
        self._writer = Writer(self._write, "audit-kept")

    async def perform(
        self,
        actor: str,
        room: str,
        action: str,
        arguments: BaseModel,
        run: Callable[[], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """``run`` the action named ``action`` on ``room`` for ``actor``, and keep a record
        of it (the rights were checked by whoever hands it here)."""
        values = arguments.model_dump(mode="json")
        channel = str(values.pop("channel", "") or "")
        record = ActionRecord(
            room=room,
            at=datetime.fromtimestamp(self._clock(), UTC),
            actor=actor,
            action=action,
            target_channel=channel,
            target_caller_id=self._caller_id(room, channel),
            arguments=json.dumps(values, sort_keys=True) if values else "",
        )
        try:
            result = await run()
        except BridgeError as exc:
            self._keep(_failed(record, exc.code, str(exc)))
            raise
        except Exception as exc:
            self._keep(_failed(record, "error", type(exc).__name__))
            raise
        self._keep(record)
        return result

    def _caller_id(self, room: str, channel: str) -> str:
        """Who the target is, in the words the moderator saw (the channel is gone once
        they are kicked)."""
        live = self.switchboard.room(room)
        person = live.participants.get(channel) if live and channel else None
        return person.caller_id if person else ""

    def _keep(self, record: ActionRecord) -> None:
        # The room's panels hear of it at once; the database row follows (same order).
        recent = self._recent.get(record.room)
        if recent is not None:
            recent.appendleft(record)
        self.changes.publish(record.room)
        log.info(
            "audit.action room=%s actor=%s action=%s target=%s result=%s",
            record.room,
            record.actor,
            record.action,
            record.target_channel or "-",
            record.result,
        )
        self._unwritten.append(record)
        self._writer.wake()

    async def _write(self) -> None:
        """Write the records waiting, oldest first, until none is left."""
        while self._unwritten:
            record = self._unwritten[0]
            try:
                async with self.db.sessions.begin() as session:
                    await add_action(session, record)
            except Exception:  # the action happened: a lost record must not undo it
                log.exception("audit.not_stored room=%s action=%s", record.room, record.action)
            self._unwritten.popleft()

    async def flushed(self) -> None:
        """Every record kept so far is in the database (or was logged as lost)."""
        await self._writer.flushed()

    def stop(self) -> None:
        self._writer.cancel()

    async def recent(self, room: str) -> list[ActionRecord]:
        """The room's latest actions, newest first (read from the database once per room)."""
        kept = self._recent.get(room)
        if kept is None:
            await self.flushed()
            async with self.db.sessions() as session:
                loaded = await recent_actions(session, room, RECENT)
            kept = self._recent.setdefault(room, deque(loaded, maxlen=RECENT))
        return list(kept)

    async def of_room(self, room: str, limit: int) -> list[ActionRecord]:
        """The room's last ``limit`` actions from the database, newest first."""
        await self.flushed()
        async with self.db.sessions() as session:
            return await recent_actions(session, room, limit)

    async def of_call(self, call_id: int) -> list[ActionRecord]:
        """Every action taken during call ``call_id``, oldest first."""
        await self.flushed()
        async with self.db.sessions() as session:
            return await actions_of_call(session, call_id)


def _failed(record: ActionRecord, code: str, message: str) -> ActionRecord:
    return replace(record, result=code, message=message)
