"""A big room's cascade, the pure part: which link channels a (re)started service takes as
a room's links and which it hangs up, and the callers placed but not joined yet."""

from __future__ import annotations

from hypothesis import given, strategies as st

from bridge.domain.cascade import Reservations, adopt_links, endpoint, link_peer

NAMES = ("node-1", "node-2", "node-3")
ROOM = "assembly"


def end(node: str, peer: str, number: int) -> str:
    return f"PJSIP/{endpoint(node, peer)}-{number:08x}"


def test_a_link_channel_names_the_node_it_leads_to_even_with_dashes_in_node_names() -> None:
    assert link_peer("node-1", end("node-1", "node-2", 42), NAMES) == "node-2"
    assert link_peer("node-2", end("node-2", "node-1", 7), NAMES) == "node-1"
    assert link_peer("node-1", "PJSIP/anonymous-0000002a", NAMES) is None
    assert link_peer("node-1", end("node-1", "node-9", 1), NAMES) is None  # no such node
    assert link_peer("node-1", end("node-1", "node-1", 1), NAMES) is None


def test_the_links_found_on_the_home_node_become_the_rooms_links_one_per_node() -> None:
    seen = {
        "node-1": {ROOM: [end("node-1", "node-2", 10), end("node-1", "node-3", 11)]},
        "node-2": {ROOM: [end("node-2", "node-1", 3)]},  # far ends: left alone
        "node-3": {ROOM: [end("node-3", "node-1", 4)]},
    }
    adoption = adopt_links({ROOM: "node-1"}, seen, {}, NAMES)
    assert adoption.links == {
        (ROOM, "node-2"): end("node-1", "node-2", 10),
        (ROOM, "node-3"): end("node-1", "node-3", 11),
    }
    assert adoption.hang_up == []


def test_a_second_link_between_the_same_two_conferences_is_hung_up_keeping_the_oldest() -> None:
    seen = {"node-1": {ROOM: [end("node-1", "node-2", 0x2B), end("node-1", "node-2", 0x1A)]}}
    adoption = adopt_links({ROOM: "node-1"}, seen, {}, NAMES)
    assert adoption.links == {(ROOM, "node-2"): end("node-1", "node-2", 0x1A)}
    assert adoption.hang_up == [("node-1", end("node-1", "node-2", 0x2B))]


def test_of_two_links_the_one_the_service_already_knows_is_kept() -> None:
    known = {(ROOM, "node-2"): end("node-1", "node-2", 0x2B)}
    seen = {"node-1": {ROOM: [end("node-1", "node-2", 0x1A), end("node-1", "node-2", 0x2B)]}}
    adoption = adopt_links({ROOM: "node-1"}, seen, known, NAMES)
    assert adoption.links == {(ROOM, "node-2"): end("node-1", "node-2", 0x2B)}
    assert adoption.hang_up == [("node-1", end("node-1", "node-2", 0x1A))]


def test_a_link_outside_the_rooms_star_is_hung_up_and_a_room_with_no_home_is_left_alone() -> None:
    seen = {
        "node-2": {ROOM: [end("node-2", "node-3", 5)], "other": [end("node-2", "node-3", 6)]},
        "node-3": {ROOM: [end("node-3", "node-2", 8)]},
    }
    adoption = adopt_links({ROOM: "node-1"}, seen, {}, NAMES)
    assert adoption.links == {}
    assert adoption.hang_up == [
        ("node-2", end("node-2", "node-3", 5)),
        ("node-3", end("node-3", "node-2", 8)),
    ]


def test_the_links_of_a_room_whose_home_node_is_another_are_no_star_of_it() -> None:
    """The room's home is node-2: node-1's link channels towards node-3 join two nodes
    neither of which is home, so they go; the one towards node-2 is a far end: it stays."""
    seen = {"node-1": {ROOM: [end("node-1", "node-3", 1), end("node-1", "node-2", 2)]}}
    adoption = adopt_links({ROOM: "node-2"}, seen, {}, NAMES)
    assert adoption.links == {}
    assert adoption.hang_up == [("node-1", end("node-1", "node-3", 1))]


@given(
    st.lists(
        st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES), st.integers(0, 2**32 - 1)),
        max_size=12,
    )
)
def test_after_adoption_no_two_links_join_the_same_two_conferences(
    found: list[tuple[str, str, int]],
) -> None:
    seen: dict[str, dict[str, list[str]]] = {}
    for node, peer, number in found:
        if node != peer:
            seen.setdefault(node, {}).setdefault(ROOM, []).append(end(node, peer, number))
    adoption = adopt_links({ROOM: "node-1"}, seen, {}, NAMES)
    ended = set(adoption.hang_up)
    home_ends = [c for c in seen.get("node-1", {}).get(ROOM, []) if ("node-1", c) not in ended]
    assert sorted(set(home_ends)) == sorted(set(adoption.links.values()))
    peers = [link_peer("node-1", c, NAMES) for c in set(home_ends)]
    assert len(peers) == len(set(peers)), "two links between the home node and one node"
    for node, rooms in seen.items():
        for channel in rooms[ROOM]:
            peer = link_peer(node, channel, NAMES)
            if "node-1" not in (node, peer):
                assert (node, channel) in ended, "a link outside the star stays"


def test_a_reservation_counts_until_a_caller_joins_or_hangs_up_or_it_runs_out() -> None:
    held = Reservations(lifetime=20.0)
    held.reserve(ROOM, "node-1", "PJSIP/a-1", now=0.0)
    held.reserve(ROOM, "node-1", "PJSIP/b-2", now=1.0)
    held.reserve(ROOM, "node-2", "PJSIP/c-3", now=2.0)
    held.reserve("other", "node-1", "PJSIP/d-4", now=2.0)
    assert held.of(ROOM, now=3.0) == {"node-1": 2, "node-2": 1}
    held.joined(ROOM, "node-1")
    assert held.of(ROOM, now=3.0) == {"node-1": 1, "node-2": 1}
    held.ended("PJSIP/c-3")
    held.ended("PJSIP/c-3")  # a second hang-up frees nothing more
    held.ended("")  # a call the entry script could not name
    assert held.of(ROOM, now=3.0) == {"node-1": 1}
    assert held.of(ROOM, now=20.5) == {"node-1": 1}  # made at 1.0
    assert held.of(ROOM, now=21.5) == {}
    assert held.of("other", now=21.5) == {"node-1": 1}  # made at 2.0
    assert held.of("other", now=22.0) == {}


def test_a_join_where_nothing_is_reserved_frees_nothing() -> None:
    held = Reservations(lifetime=20.0)
    held.reserve(ROOM, "node-1", "PJSIP/a-1", now=0.0)
    held.joined(ROOM, "node-2")
    held.joined("other", "node-1")
    assert held.of(ROOM, now=1.0) == {"node-1": 1}
