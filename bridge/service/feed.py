"""The push feed, live: the roster's and the stacks' changes translated into feed events
(``bridge.domain.feed``) as they happen, numbered, and fanned out.

Two kinds of reader: subscribers of the hub (a script's ``GET /api/v1/events``: a bounded
queue each, dropped when it falls behind) and outboxes (the webhooks: each keeps its own
bounded queue and drops its oldest when full). Both are handed an event without waiting:
the AMI reader that calls ``on_roster`` never awaits a reader.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.domain.events import DomainEvent
from bridge.domain.feed import FeedEvent, from_roster, from_stack
from bridge.domain.roster import Effect
from bridge.domain.speakers import StackView
from bridge.hub import Hub

log = logging.getLogger(__name__)

ViewOf = Callable[[str], StackView | None]  # a room's stack now (None: no live stack)


@dataclass(frozen=True)
class Published:
    """A feed event with its id (unique across restarts: the start time, then a count)."""

    id: str
    event: FeedEvent

    def as_json(self) -> dict[str, Any]:
        return self.event.as_json(self.id)


class EventFeed:
    def __init__(self, view_of: ViewOf, queue_size: int = 1024) -> None:
        self.hub: Hub[Published] = Hub(queue_size)
        self._view_of = view_of
        self._views: dict[str, StackView] = {}  # room -> its stack as last published
        self._outboxes: list[Callable[[Published], None]] = []
        self._ids = itertools.count(1)
        self._boot = f"{int(time.time() * 1000):x}"

    def add_outbox(self, offer: Callable[[Published], None]) -> None:
        """``offer`` is called with every event; it must not block (a webhook's queue)."""
        self._outboxes.append(offer)

    def remove_outbox(self, offer: Callable[[Published], None]) -> None:
        if offer in self._outboxes:
            self._outboxes.remove(offer)

    def close(self) -> None:
        """The service is stopping: every script's stream ends now (``Hub.close``)."""
        self.hub.close()

    def on_roster(self, event: DomainEvent, effects: Sequence[Effect]) -> None:
        """The roster applied ``event`` with these effects."""
        self._send(from_roster(event, effects))

    def on_stack_changed(self, room: str) -> None:
        """``room``'s stack changed (its effects carried out): what is new since the last."""
        after = self._view_of(room)
        before = self._views.pop(room, None)
        if after is not None:
            self._views[room] = after
        self._send(from_stack(before, after, time.time()))

    def _send(self, events: list[FeedEvent]) -> None:
        for event in events:
            published = Published(f"{self._boot}-{next(self._ids)}", event)
            self.hub.publish(published)
            for offer in self._outboxes:
                try:
                    offer(published)
                except Exception:  # one broken outbox must not stop the roster or the rest
                    log.exception("feed.outbox_failed kind=%s", event.kind)
