"""A big room's cascade, the pure part (docs/admin.md, "Big rooms"): which link channels a
(re)started service finds on its nodes it takes as the room's links, and which it hangs up
(``adopt_links``); and the callers placed on a node who have not joined yet, counted so a
burst of callers does not overshoot ``max_callers_per_node`` (``Reservations``).

A link is one call between two nodes over their node-to-node endpoint; each of its two ends
is a channel in the room's conference on its own node, named after that node's endpoint
towards the other: ``PJSIP/iobridge-HOME-NODE-0000002a`` on the home node,
``PJSIP/iobridge-NODE-HOME-...`` on the other (asterisk-config/nodes/pjsip-nodes.conf)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

# PJSIP names a channel after its endpoint, then a dash and eight hex digits.
_PJSIP_CHANNEL = re.compile(r"PJSIP/(?P<endpoint>.+)-[0-9a-f]{8}")


def endpoint(node: str, peer: str) -> str:
    """The node-to-node endpoint on ``node`` towards ``peer`` (asterisk-config/nodes/)."""
    return f"iobridge-{node}-{peer}"


def link_peer(node: str, channel: str, names: Collection[str]) -> str | None:
    """The node a link channel on ``node`` leads to (None: not a node-to-node channel)."""
    found = _PJSIP_CHANNEL.fullmatch(channel)
    if found is None:
        return None
    for peer in names:
        if peer != node and found["endpoint"] == endpoint(node, peer):
            return peer
    return None


@dataclass(frozen=True)
class Adoption:
    """What a resync makes of the link channels it found: ``links`` the room's links, by
    (room, other node), each with its end on the home node; ``hang_up`` the channels to end,
    each with its node (a second link between the same two conferences, which would feed
    back, or a link that is no part of the room's star)."""

    links: dict[tuple[str, str], str] = field(default_factory=dict)
    hang_up: list[tuple[str, str]] = field(default_factory=list)


def adopt_links(
    homes: Mapping[str, str],
    seen: Mapping[str, Mapping[str, Iterable[str]]],
    known: Mapping[tuple[str, str], str | None],
    names: Collection[str],
) -> Adoption:
    """The links found on the nodes that answered (``seen``: node -> room -> its link
    channels there), given each room's home node (``homes``) and the links the service
    already knows (``known``: (room, node) -> its home end, None while it is dialled).

    On a room's home node, each link channel towards another node is that node's link: one
    per node is kept (the one already known, else the oldest), every other is hung up. A
    link channel on another node is the far end of a link: it is left alone when it leads
    to the home node (its home end decides), and hung up when it joins two nodes neither of
    which is the room's home (no star has such a link; it would make a loop). A room with no
    home node keeps its links untouched: nothing says which star they belong to."""
    adoption = Adoption()
    for node, rooms in sorted(seen.items()):
        for room, channels in sorted(rooms.items()):
            home = homes.get(room)
            if home is None:
                continue
            for channel in sorted(set(channels), key=_age):
                peer = link_peer(node, channel, names)
                if peer is None or (node != home and peer == home):
                    continue
                if node != home:
                    adoption.hang_up.append((node, channel))
                    continue
                kept = adoption.links.get((room, peer))
                if kept is None:
                    adoption.links[(room, peer)] = channel
                elif channel == known.get((room, peer)):
                    adoption.hang_up.append((node, kept))
                    adoption.links[(room, peer)] = channel
                else:
                    adoption.hang_up.append((node, channel))
    return adoption


def _age(channel: str) -> tuple[int, str]:
    """Older channels first: Asterisk numbers its channels upwards."""
    found = _PJSIP_CHANNEL.fullmatch(channel)
    suffix = channel.rsplit("-", 1)[-1] if found else ""
    return (int(suffix, 16) if suffix else 0, channel)


class Reservations:
    """Callers placed on a node who have not joined its conference of the room yet (a PIN
    accepted, the hand-over under way): counted with the room's callers there, so callers
    arriving together do not all go to the same node past ``max_callers_per_node``. A
    reservation ends when a caller of the room joins on that node (the oldest first), when
    the caller's call ends before that, or ``lifetime`` seconds after it was made."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        # (room, node) -> [(made at, the call it is for)], oldest first
        self._held: dict[tuple[str, str], list[tuple[float, str]]] = {}

    def reserve(self, room: str, node: str, call: str, now: float) -> None:
        self._expire(now)
        self._held.setdefault((room, node), []).append((now, call))

    def joined(self, room: str, node: str) -> None:
        """A caller of ``room`` joined on ``node``: one reservation there is used."""
        held = self._held.get((room, node))
        if held:
            held.pop(0)
            if not held:
                del self._held[(room, node)]

    def ended(self, call: str) -> None:
        """``call`` hung up: its reservation, if still held, is freed."""
        if not call:
            return
        for key, held in list(self._held.items()):
            kept = [one for one in held if one[1] != call]
            if len(kept) < len(held):
                if kept:
                    self._held[key] = kept
                else:
                    del self._held[key]
                return

    def of(self, room: str, now: float) -> dict[str, int]:
        """The room's reservations on each node."""
        self._expire(now)
        return {node: len(held) for (one, node), held in self._held.items() if one == room}

    def _expire(self, now: float) -> None:
        for key, held in list(self._held.items()):
            kept = [one for one in held if now - one[0] < self.lifetime]
            if kept:
                self._held[key] = kept
            else:
                del self._held[key]
