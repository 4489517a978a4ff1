"""Who may act on which room, and how many wrong passwords a login tolerates.

Pure values: the panel's login, the JSON API's tokens and the CLI's admin token all end in a
``Principal``; the check "may this principal moderate this room" is made here and nowhere
else. Time comes in as an argument, so the throttle is tested without a clock.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bridge.domain.rooms import (
    ALL_ROOMS,
    Right as Right,  # with the rooms file's grants; used here
)

ADMIN = "admin"  # the name the audit trail gives to the local CLI's admin token


class Via(StrEnum):
    """How a principal proved who they are."""

    SESSION = "session"  # the panel's login
    TOKEN = "token"  # a script's bearer token (the JSON API)
    ADMIN_TOKEN = "admin-token"  # the local CLI
    PHONE = "phone"  # a caller who joined a room with its moderator PIN (its keypad)


@dataclass(frozen=True)
class Principal:
    """Someone acting on the bridge, with the rooms they may moderate. ``read_only``: may
    see those rooms but do nothing in them (a script's token made ``--read-only``)."""

    username: str
    all_rooms: bool = False
    rooms: frozenset[str] = frozenset()
    via: Via = Via.SESSION
    read_only: bool = False
    # Rooms in which this principal is only an assistant (``"*"``: in all of them).
    assisting: frozenset[str] = frozenset()

    @classmethod
    def admin(cls) -> Principal:
        return cls(ADMIN, all_rooms=True, via=Via.ADMIN_TOKEN)

    @classmethod
    def from_room_list(
        cls,
        username: str,
        rooms: tuple[str, ...],
        via: Via,
        assisting: tuple[str, ...] = (),
    ) -> Principal:
        """From a rooms-file style list, where ``"*"`` grants every room; ``assisting``:
        those of them in which the moderator is only an assistant."""
        granted = frozenset(r for r in rooms if r != ALL_ROOMS)
        return cls(
            username,
            all_rooms=ALL_ROOMS in rooms,
            rooms=granted,
            via=via,
            assisting=frozenset(assisting),
        )

    def within(self, rooms: frozenset[str] | None, read_only: bool) -> Principal:
        """This principal as a token's scope narrows it: only those of ``rooms`` it may
        moderate itself (None: all of its own), and no action at all if ``read_only``. A
        scope never widens: a room the moderator lost is gone from the token too."""
        if rooms is None:
            return replace(self, read_only=self.read_only or read_only)
        kept = frozenset(room for room in rooms if self.may_moderate(room))
        return replace(self, all_rooms=False, rooms=kept, read_only=self.read_only or read_only)

    def may_moderate(self, room: str) -> bool:
        return self.all_rooms or room in self.rooms

    def role_in(self, room: str) -> Right | None:
        """The principal's role in ``room``: assistant where the rooms file says so (or a
        host handed the room to another host), host elsewhere they may moderate, None
        where they may not."""
        if not self.may_moderate(room):
            return None
        if room in self.assisting or ALL_ROOMS in self.assisting:
            return Right.ASSISTANT
        return Right.HOST

    def stepping_down(self, room: str, holder: str | None) -> Principal:
        """This principal while ``holder`` holds ``room`` (a host handed it to them): the
        room's other hosts assist there. The local CLI's admin token never steps down."""
        if holder is None or holder == self.username or self.via is Via.ADMIN_TOKEN:
            return self
        if self.role_in(room) is not Right.HOST:
            return self
        return replace(self, assisting=self.assisting | {room})

    def may(self, right: Right, room: str) -> bool:
        """May this principal do what needs ``right`` in ``room``?"""
        if self.read_only:
            return False
        role = self.role_in(room)
        return role is Right.HOST or (role is Right.ASSISTANT and right is Right.ASSISTANT)

    def may_open_rooms(self) -> bool:
        """May this principal open a room on demand? A host may (the admin token is one
        everywhere); an assistant, a read-only token or a moderator of no room may not."""
        if self.read_only:
            return False
        if self.all_rooms:
            return True
        return any(self.role_in(room) is Right.HOST for room in self.rooms)

    def rooms_of(self, rooms: list[str]) -> list[str]:
        """Those of ``rooms`` this principal may see and act on, in the given order."""
        return [room for room in rooms if self.may_moderate(room)]


# ---- login throttle ---------------------------------------------------------------------


@dataclass(frozen=True)
class ThrottleRules:
    """Failed logins tolerated per username (from one network) and per address within
    ``window`` seconds."""

    per_username: int = 5
    per_address: int = 20
    window: float = 900.0
    remembered: int = 10_000  # (username, address) pairs that logged in, kept at most


@dataclass(frozen=True)
class Attempt:
    """A login being checked: its failure is already counted (``LoginThrottle.reserve``)
    and taken back if the password was right."""

    username: str
    address: str
    at: float


@dataclass
class LoginThrottle:
    """Counts failed logins per username and network, and per address, in a sliding window.

    A username's failures count per network (the address's /24 for IPv4, /64 for IPv6):
    usernames are not secret, so a guesser elsewhere must not lock a moderator out of
    their own office. A username is counted whether or not the account exists, so the
    answer never tells an attacker which names are real. Each attempt is counted
    *before* its password is checked, so guesses sent at once cannot exceed the limit.
    A success takes its own count back and clears the username's failures (not the
    address's: one right password must not reopen an address that is guessing others),
    and the address it came from stays open to that username even while the name is
    held back from its network.
    """

    rules: ThrottleRules = field(default_factory=ThrottleRules)
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _known: dict[tuple[str, str], None] = field(default_factory=dict)  # ordered: oldest first

    def retry_after(self, username: str, address: str, now: float) -> float:
        """Seconds until a login from here may be tried again; 0 when it may be tried now."""
        waits = [self._wait(_address_key(address), self.rules.per_address, now)]
        if (_name(username), address) not in self._known:
            waits.append(self._wait(_user_key(username, address), self.rules.per_username, now))
        return max(waits)

    def reserve(self, username: str, address: str, now: float) -> Attempt | float:
        """Count a failure for this attempt now, before its password is checked; the wait
        (seconds) instead when it may not be tried."""
        wait = self.retry_after(username, address, now)
        if wait > 0:
            return wait
        self.failed(username, address, now)
        return Attempt(username, address, now)

    def failed(self, username: str, address: str, now: float) -> None:
        for key in (_user_key(username, address), _address_key(address)):
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 10_000:
            self._forget_old(now)  # a flood of distinct names must not grow this forever

    def succeeded(self, attempt: Attempt) -> None:
        """The attempt's password was right: its count is taken back, the name's failures
        from that network cleared, and the address remembered for that name."""
        self._failures.pop(_user_key(attempt.username, attempt.address), None)
        times = self._failures.get(_address_key(attempt.address))
        if times is not None and attempt.at in times:
            times.remove(attempt.at)
        pair = (_name(attempt.username), attempt.address)
        self._known.pop(pair, None)
        self._known[pair] = None
        while len(self._known) > self.rules.remembered:
            del self._known[next(iter(self._known))]

    def _wait(self, key: str, limit: int, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and times[0] <= now - self.rules.window:
            times.popleft()
        if len(times) < limit:
            return 0.0
        # Blocked until enough of the failures in the window have aged out of it.
        return times[len(times) - limit] + self.rules.window - now

    def _forget_old(self, now: float) -> None:
        horizon = now - self.rules.window
        for key in [k for k, times in self._failures.items() if not times or times[-1] <= horizon]:
            del self._failures[key]


def network_of(address: str) -> str:
    """The network an address is counted with: its /24 (IPv4) or /64 (IPv6); what is not
    an address (a test's name, "unknown") is its own network."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _name(username: str) -> str:
    return username.strip().casefold()


def _user_key(username: str, address: str) -> str:
    return f"user:{_name(username)}@{network_of(address)}"


def _address_key(address: str) -> str:
    """An IPv6 client holds a whole /64: it is counted as one address."""
    return "address:" + (network_of(address) if ":" in address else address)
