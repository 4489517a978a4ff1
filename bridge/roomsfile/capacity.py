"""Warnings about a rooms file that is valid but asks more of Asterisk than it is set up for.

A warning does not stop a check or a sync: the file means what it says, and the rooms may
never all be full at once. It tells the admin which setting to widen before the night that
they are.
"""

from __future__ import annotations

from bridge.domain.rooms import RoomsConfig

PORTS_PER_CALL = 2  # Asterisk gives each call an even RTP port and the odd one above for RTCP


def rtp_calls(first_port: int, last_port: int) -> int:
    """How many calls Asterisk can carry with RTP ports ``first_port``..``last_port``."""
    return max(0, last_port - first_port + 1) // PORTS_PER_CALL


def capacity_warnings(config: RoomsConfig, rtp_ports: tuple[int, int]) -> list[str]:
    """What the rooms can exceed, one message per problem (empty when nothing)."""
    first, last = rtp_ports
    callers = sum(room.max_participants for room in config.rooms)
    calls = rtp_calls(first, last)
    if callers <= calls:
        return []
    return [
        f"rooms: max_participants add up to {callers:,} callers, but Asterisk's RTP ports "
        f"{first}-{last} carry {calls:,} calls ({PORTS_PER_CALL} ports each); set "
        f"IOBRIDGE_RTP_PORT_START/IOBRIDGE_RTP_PORT_END to a range of at least "
        f"{callers * PORTS_PER_CALL:,} ports, or lower max_participants"
    ]
