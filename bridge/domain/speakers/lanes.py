"""The lanes of one room's stack: who waits to speak, in which lane and in what order, and the
places kept for those who left within their rejoin grace. The floor (who speaks now) and
the effects are ``SpeakerStack``'s; this is only the waiting."""

from __future__ import annotations

from bridge.domain.rooms import QueuePolicy
from bridge.domain.speakers import ordering
from bridge.domain.speakers.errors import NotQueued, PlaceOutOfLane
from bridge.domain.speakers.model import Entry, Lane, Member, Record, SortKey, recognisable
from bridge.domain.speakers.views import PlaceView


class Lanes:
    """Every method that changes something says so (True), for the stack's ``StackChanged``."""

    def __init__(self, policy: QueuePolicy, records: dict[str, Record]) -> None:
        self.policy = policy
        self._records = records  # the stack's, by person: the progressive order reads them
        self.entries: dict[str, Entry] = {}  # the queue, by channel, in no order
        # Those who left within their grace, under their old channel: apart from the queue,
        # since after an Asterisk restart a newcomer may get the same channel name.
        self.away: list[Entry] = []
        self.seq = 0  # requests so far: ties on the time go to the earlier one
        self.moves = 0  # moderators' moves so far: the later move stands in front

    # -- reading ------------------------------------------------------------------------------

    def order(self) -> list[Entry]:
        """The queue in serving order."""
        return sorted(self.entries.values(), key=self.key)

    def place(self, channel: str) -> int | None:
        """1-based place in the serving order; None: not queued."""
        for place, entry in enumerate(self.order(), start=1):
            if entry.channel == channel:
                return place
        return None

    def key(self, entry: Entry) -> SortKey:
        return ordering.sort_key(entry, self.policy, self._records.get(entry.person))

    def queued(self, channel: str) -> Entry:
        entry = self.entries.get(channel)
        if entry is None:
            raise NotQueued(channel)
        return entry

    def places(self) -> tuple[PlaceView, ...]:
        """The queue as ``stack show`` prints it: places, lanes, reasons."""
        order = self.order()
        hands = sorted((e for e in order if e.lane is Lane.STACK), key=ordering.raised)
        raised_rank = {e.channel: rank for rank, e in enumerate(hands, start=1)}
        return tuple(
            PlaceView(
                place,
                e.channel,
                e.caller_id,
                e.lane,
                ordering.reason(
                    e, self.policy, self._records.get(e.person), raised_rank.get(e.channel, 0)
                ),
                e.priority,
                e.raised_at,
            )
            for place, e in enumerate(order, start=1)
        )

    def next_expiry(self, grace: float) -> float | None:
        """When the first place kept for someone away runs out."""
        due = [e.away_since + grace for e in self.away if e.away_since is not None]
        return min(due, default=None)

    # -- callers ------------------------------------------------------------------------------

    def enqueue(self, member: Member, person: str, lane: Lane, at: float) -> None:
        self.seq += 1
        self.entries[member.channel] = Entry(
            member.channel, member.caller_id, person, lane, at, self.seq
        )

    def change_lane(self, entry: Entry, lane: Lane, at: float) -> None:
        """To the back of ``lane``: priority kept, a moderator's move dropped."""
        self.seq += 1
        entry.lane, entry.raised_at, entry.seq, entry.placed = lane, at, self.seq, None

    def take(self, channel: str) -> Entry | None:
        """Out of the queue (lowered, removed, given the floor)."""
        return self.entries.pop(channel, None)

    def step_away(self, channel: str, at: float, grace: float) -> None:
        """``channel`` left the room: its place is kept for the grace, or gone at once when
        there is none or the caller cannot be recognised (a withheld caller ID)."""
        entry = self.entries.pop(channel, None)
        if entry is not None and grace > 0 and recognisable(entry.person):
            entry.away_since = at
            self.away.append(entry)

    def come_back(self, member: Member, person: str) -> None:
        """``person`` joined again: their place back (the best one kept), on the new channel."""
        theirs = sorted((e for e in self.away if e.person == person), key=self.key)
        if theirs:
            entry = theirs[0]
            self.away.remove(entry)
            entry.channel, entry.caller_id = member.channel, member.caller_id
            entry.away_since = None
            self.entries[member.channel] = entry

    def expire(self, at: float, grace: float) -> bool:
        """Places kept past their grace go."""
        kept = [e for e in self.away if e.away_since is not None and at < e.away_since + grace]
        if len(kept) == len(self.away):
            return False
        self.away = kept
        return True

    # -- moderators ---------------------------------------------------------------------------

    def move(self, channel: str, place: int) -> bool:
        """To ``place`` in the serving order, which must be within the entry's lane."""
        entry = self.queued(channel)
        order = self.order()
        lane = [e for e in order if e.lane is entry.lane]
        first = order.index(lane[0]) + 1
        last = first + len(lane) - 1
        if not first <= place <= last:
            raise PlaceOutOfLane(channel, entry.lane, place, first, last)
        if order.index(entry) + 1 == place:
            return False
        others = [e for e in lane if e is not entry]
        # Just behind whoever is to stand before it (or at the head of the lane): a key
        # between theirs and the next one's, whatever the policy's keys look like.
        ahead = place - first
        anchor = self.key(others[ahead - 1]) if ahead else ordering.lane_head(entry.lane)
        self.moves += 1
        entry.placed = (*anchor, -float(self.moves))
        return True

    def clear(self, lane: Lane | None) -> bool:
        """Empty one lane, or every lane; those away within their grace go too."""
        before = len(self.entries) + len(self.away)
        self.entries = {c: e for c, e in self.entries.items() if lane not in (None, e.lane)}
        self.away = [e for e in self.away if lane not in (None, e.lane)]
        return len(self.entries) + len(self.away) < before

    def set_priority(self, channel: str, on: bool) -> bool:
        entry = self.queued(channel)
        if entry.priority == on:
            return False
        entry.priority = on
        entry.placed = None
        return True

    def set_policy(self, policy: QueuePolicy) -> bool:
        """The whole order is recomputed under the new policy; moderators' moves are undone."""
        if policy is self.policy:
            return False
        self.policy = policy
        for entry in (*self.entries.values(), *self.away):
            entry.placed = None
        return True

    # -- saved --------------------------------------------------------------------------------

    def saved(self) -> list[Entry]:
        return [*self.entries.values(), *self.away]

    def restore(self, entries: list[Entry], seq: int, moves: int) -> None:
        self.seq, self.moves = seq, moves
        for entry in entries:
            if entry.away_since is None:
                self.entries[entry.channel] = entry
            else:
                self.away.append(entry)
