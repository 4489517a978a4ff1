"""What the bridge tells Prometheus: live rooms and people, the AMI link, callers at the
door, the speaker stack, action latency and the panel's websockets.

One ``CollectorRegistry`` per service (never prometheus-client's global one: a test
session runs several services in one process). Live figures (rooms, participants, the AMI
link) are read from the roster when Prometheus scrapes, so they cannot drift; the rest are
counters and gauges the features move:

| metric | moved by |
| --- | --- |
| ``iobridge_ami_events_total`` | every AMI event (``rate()`` gives events/s) |
| ``iobridge_pin_admissions_total{role}`` | the entry desk |
| ``iobridge_pin_refusals_total{reason}`` | the entry desk |
| ``iobridge_action_seconds{action,outcome}`` | ``bridge.actions.perform`` |
| ``iobridge_speaker_turns_total{lane}`` | ``turn_started(lane)``; today the roster's own turns |
| ``iobridge_hands_raised`` | the speaker stack: ``set_hands_raised(room, count)`` |
| ``iobridge_websocket_clients`` | the panel: ``websocket_clients.inc()`` / ``.dec()`` |
| ``iobridge_webhook_events_total{webhook,outcome}`` | the webhooks (delivered, dropped ...) |
| ``process_*``, ``python_info`` | prometheus-client's process and platform collectors |

No metric carries a room name or a caller: the scrape endpoint needs no login. A webhook
is its number in ``IOBRIDGE_WEBHOOKS`` (1, 2 ...), never its URL (it may hold a secret).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bridge.domain.entry import Admission, Refusal
from bridge.domain.events import (
    CallHungUp,
    DomainEvent,
    ParticipantJoined,
    ParticipantLeft,
    Resynced,
    Role,
    RoomEnded,
    TalkingChanged,
)
from bridge.domain.roster import Switchboard

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Room actions take a few ms to a few s (a list of a big room): buckets for both.
ACTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ROSTER_LANE = "open"  # a turn the roster counted: an unmuted stretch with speech in it
LANES = (ROSTER_LANE, "process", "direct", "stack", "called")  # the stack's, as in turns


class _LiveState(Collector):
    """Figures read from the live roster at scrape time."""

    def __init__(
        self,
        switchboard: Callable[[], Switchboard],
        ami_up: Callable[[], bool],
        practice_rooms: Callable[[], Collection[str]],
    ):
        self._switchboard = switchboard
        self._ami_up = ami_up
        self._practice_rooms = practice_rooms

    def collect(self) -> Iterator[Metric]:
        board = self._switchboard()
        practice = self._practice_rooms()  # simulated callers are not the service's load
        rooms = [room for room in board.rooms.values() if room.name not in practice]
        yield GaugeMetricFamily("iobridge_rooms_live", "Rooms with a call going on", len(rooms))
        yield GaugeMetricFamily(
            "iobridge_participants", "People in rooms", sum(room.count for room in rooms)
        )
        yield GaugeMetricFamily(
            "iobridge_rooms_recording", "Rooms being recorded", sum(r.recording for r in rooms)
        )
        yield GaugeMetricFamily(
            "iobridge_entry_calls",
            "Callers on the shared number, not in a room",
            len(board.entry_calls),
        )
        yield GaugeMetricFamily(
            "iobridge_ami_connected",
            "1 while the bridge is logged in to Asterisk's AMI and resynced",
            1 if self._ami_up() and board.pbx_connected else 0,
        )


class _NodeState(Collector):
    """Several nodes: each node's state, calls and rooms, read at scrape time."""

    def __init__(self, listing: Callable[[], list[dict[str, Any]]]) -> None:
        self._listing = listing

    def collect(self) -> Iterator[Metric]:
        nodes = self._listing()
        figures = {
            "iobridge_node_up": ("1 while the service's AMI link to the node is up", "state"),
            "iobridge_node_draining": ("1 while the node takes no new room", "state"),
            "iobridge_node_calls": ("People in the rooms placed on the node", "calls"),
            "iobridge_node_rooms": ("Rooms placed on the node", "rooms"),
        }
        for name, (text, field) in figures.items():
            family = GaugeMetricFamily(name, text, labels=["node"])
            for node in nodes:
                value = node[field]
                if name == "iobridge_node_up":
                    value = value != "down"
                elif name == "iobridge_node_draining":
                    value = value == "draining"
                elif name == "iobridge_node_rooms":
                    value = len(value)
                family.add_metric([node["name"]], float(value))
            yield family


class Metrics:
    """Practice rooms (``practice_rooms``: their names now) are left out of every figure
    that counts rooms, people, PINs, hands or turns."""

    def __init__(
        self,
        switchboard: Callable[[], Switchboard],
        ami_up: Callable[[], bool],
        practice_rooms: Callable[[], Collection[str]] = frozenset,
    ):
        self.registry = CollectorRegistry()
        self._practice_rooms = practice_rooms
        self.registry.register(_LiveState(switchboard, ami_up, practice_rooms))
        # The process itself: process_resident_memory_bytes, process_cpu_seconds_total,
        # process_open_fds ..., and python_info.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._switchboard = switchboard
        self.ami_events = Counter(
            "iobridge_ami_events", "AMI events received from Asterisk", registry=self.registry
        )
        self.pin_admissions = Counter(
            "iobridge_pin_admissions",
            "Callers let into a room by their PIN",
            ["role"],
            registry=self.registry,
        )
        self.pin_refusals = Counter(
            "iobridge_pin_refusals",
            "Callers turned away at the door, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.action_seconds = Histogram(
            "iobridge_action_seconds",
            "Time a room action took, from the request to Asterisk's answer",
            ["action", "outcome"],
            buckets=ACTION_BUCKETS,
            registry=self.registry,
        )
        self.speaker_turns = Counter(
            "iobridge_speaker_turns",
            "Turns on the floor, by the lane they came from",
            ["lane"],
            registry=self.registry,
        )
        self.hands_raised = Gauge(
            "iobridge_hands_raised", "Entries waiting in every room's stack", registry=self.registry
        )
        self.websocket_clients = Gauge(
            "iobridge_websocket_clients", "Open panel websockets", registry=self.registry
        )
        self.webhook_events = Counter(
            "iobridge_webhook_events",
            "Push feed events per webhook: delivered, retried, failed, dropped (queue full)",
            ["webhook", "outcome"],
            registry=self.registry,
        )
        # Every label value exists from the start, so rate() sees the first one.
        for role in Role:
            self.pin_admissions.labels(str(role))
        for reason in Refusal:
            # A retired room's PIN is counted as what the caller hears, a wrong PIN: the
            # scrape needs no login, so it must not tell which PINs once opened a room.
            if reason is not Refusal.ROOM_RETIRED:
                self.pin_refusals.labels(reason.value)
        for lane in LANES:
            self.speaker_turns.labels(lane)
        self._hands: dict[str, int] = {}
        self._turns_seen: dict[str, int] = {}

    def watch_nodes(self, listing: Callable[[], list[dict[str, Any]]]) -> None:
        """Several nodes: their figures, per node (``NodeLinks.listing``)."""
        self.registry.register(_NodeState(listing))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # ---- what the features call -----------------------------------------------------------

    def pin_outcome(self, decision: Admission | Refusal) -> None:
        if isinstance(decision, Admission):
            if decision.room.name in self._practice_rooms():
                return
            self.pin_admissions.labels(str(decision.role)).inc()
        else:
            self.pin_refusals.labels(decision.value).inc()

    def action_done(self, action: str, seconds: float, outcome: str) -> None:
        self.action_seconds.labels(action, outcome).observe(seconds)

    def webhook_outcome(self, number: int, outcome: str) -> None:
        self.webhook_events.labels(str(number), outcome).inc()

    def turn_started(self, room: str, lane: str) -> None:
        """A speaker got the floor (the stack: its lane; process, direct, stack, called)."""
        if room in self._practice_rooms():
            return
        self.speaker_turns.labels(lane).inc()

    def set_hands_raised(self, room: str, count: int) -> None:
        """The speaker stack: how many wait in ``room`` now (0 when its call ends)."""
        if count > 0 and room not in self._practice_rooms():
            self._hands[room] = count
        else:
            self._hands.pop(room, None)
        self.hands_raised.set(sum(self._hands.values()))

    def on_event(self, event: DomainEvent) -> None:
        """Roster listener: counts the roster's turns (a participant unmuted and heard).

        When the speaker stack lands and calls ``turn_started(lane)`` for floor turns,
        this count (lane "open") stays the measure of speech outside the stack."""
        match event:
            case ParticipantJoined() | Resynced():
                for room in self._switchboard().rooms.values():
                    for member in room.participants.values():
                        self._turns_seen.setdefault(member.channel, member.turns)
            case TalkingChanged(talking=True) if event.room not in self._practice_rooms():
                live = self._switchboard().room(event.room)
                person = live.participants.get(event.channel) if live else None
                if person is not None:
                    new = person.turns - self._turns_seen.get(event.channel, person.turns)
                    if new > 0:
                        self.speaker_turns.labels(ROSTER_LANE).inc(new)
                    self._turns_seen[event.channel] = person.turns
            case ParticipantLeft() | CallHungUp():
                self._turns_seen.pop(event.channel, None)
            case RoomEnded():
                self.set_hands_raised(event.room, 0)
