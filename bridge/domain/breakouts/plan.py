"""Who goes to which group: ``split`` the room's callers by count or size, in an order (the
speaker stack's, or a shuffle the live side draws: chance is not the domain's to take), or
as a list file says."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bridge.domain.breakouts.model import (
    GROUP_NAME,
    MAIN_ROOM,
    MAX_GROUPS,
    BadGroupList,
    BreakoutError,
    Member,
    SplitBy,
    group_name,
)


@dataclass(frozen=True)
class Plan:
    """Each group's name and its members, in order; moderators are never in it."""

    groups: tuple[tuple[str, tuple[Member, ...]], ...]

    def names(self) -> list[str]:
        return [name for name, _ in self.groups]


def split(
    room: str,
    members: Sequence[Member],
    *,
    groups: int | None = None,
    size: int | None = None,
    by: SplitBy = SplitBy.RANDOM,
    order: Sequence[str] = (),
    listed: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """The groups for the room's callers (``members`` as they joined; moderators stay out).

    ``groups`` or ``size`` (one of them) sets how many groups; the callers are taken in
    ``order`` (channels: a shuffle, or the stack), those it leaves out after, as they joined,
    and cut into runs whose sizes differ by one at most. With ``by=LIST`` the list file
    names the groups and whom they hold, and callers it does not name fill the smallest
    groups. ``BreakoutError`` says why a split cannot be, and nothing is decided."""
    callers = [m for m in members if not m.moderator]
    if not callers:
        raise BreakoutError(f"room '{room}' has no callers to split (moderators stay)")
    if by is SplitBy.LIST:
        if listed is None:
            raise BreakoutError("--by list needs a list file (--file FILE.yaml)")
        return _by_list(callers, listed)
    count = _group_count(len(callers), groups, size)
    place = {channel: n for n, channel in enumerate(order)}
    ordered = sorted(callers, key=lambda m: place.get(m.channel, len(place)))  # stable
    return Plan(
        tuple((group_name(n + 1), chunk) for n, chunk in enumerate(_chunks(ordered, count)))
    )


def _group_count(callers: int, groups: int | None, size: int | None) -> int:
    if (groups is None) == (size is None):
        raise BreakoutError("give the number of groups or their size, one of them")
    if size is not None:
        if size < 1:
            raise BreakoutError(f"a group's size is at least 1, got {size}")
        groups = -(-callers // size)
    assert groups is not None
    if groups < 1:
        raise BreakoutError(f"at least 1 group, got {groups}")
    if groups > MAX_GROUPS:
        raise BreakoutError(f"at most {MAX_GROUPS} groups, got {groups}")
    if groups > callers:
        raise BreakoutError(
            f"{groups} groups for {callers} caller{'s' if callers != 1 else ''}: "
            f"at most {callers} groups"
        )
    return groups


def _chunks(ordered: list[Member], count: int) -> list[tuple[Member, ...]]:
    """``count`` runs of the order, sizes differing by one at most (the first ones larger)."""
    base, extra = divmod(len(ordered), count)
    chunks, start = [], 0
    for n in range(count):
        end = start + base + (1 if n < extra else 0)
        chunks.append(tuple(ordered[start:end]))
        start = end
    return chunks


def _by_list(callers: list[Member], listed: Mapping[str, Sequence[str]]) -> Plan:
    if not listed:
        raise BadGroupList("the list names no groups")
    if len(listed) > MAX_GROUPS:
        raise BadGroupList(f"at most {MAX_GROUPS} groups, the list has {len(listed)}")
    named: dict[str, str] = {}  # caller ID or channel -> group
    for group, who in listed.items():
        if not GROUP_NAME.fullmatch(group) or group == MAIN_ROOM:
            raise BadGroupList(
                f"'{group}' is not a group name (lowercase letters, digits and '-', "
                f"not '{MAIN_ROOM}')"
            )
        for someone in who:
            if someone in named:
                raise BadGroupList(f"'{someone}' is listed in {named[someone]} and {group}")
            named[someone] = group
    placed: dict[str, list[Member]] = {group: [] for group in listed}
    unlisted: list[Member] = []
    for member in callers:
        listed_in = named.get(member.channel) or named.get(member.caller_id)
        if listed_in is None:
            unlisted.append(member)
        else:
            placed[listed_in].append(member)
    for member in unlisted:
        smallest = min(placed, key=lambda g: len(placed[g]))  # first listed on a tie
        placed[smallest].append(member)
    return Plan(tuple((group, tuple(members)) for group, members in placed.items()))
