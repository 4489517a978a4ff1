"""Room placements read back at start, checked against the nodes' live conferences."""

from __future__ import annotations

from bridge.domain.nodes import checked_placements


def test_a_room_live_on_its_node_stays_placed_there() -> None:
    assert checked_placements({"ga": "node-2"}, {"node-2": {"ga"}}) == {"ga": "node-2"}


def test_a_room_live_on_another_node_is_placed_where_it_is() -> None:
    seen = {"node-1": set(), "node-2": {"ga"}}
    assert checked_placements({"ga": "node-1"}, seen) == {"ga": "node-2"}


def test_a_room_placed_on_a_node_that_answered_without_it_is_placed_nowhere() -> None:
    assert checked_placements({"ga": "node-1"}, {"node-1": {"wg"}}) == {"wg": "node-1"}


def test_a_room_placed_on_a_node_that_did_not_answer_keeps_its_place() -> None:
    assert checked_placements({"ga": "node-3"}, {"node-1": set()}) == {"ga": "node-3"}


def test_a_room_placed_on_a_silent_node_but_live_elsewhere_moves_to_where_it_is_live() -> None:
    assert checked_placements({"ga": "node-3"}, {"node-1": {"ga"}}) == {"ga": "node-1"}


def test_a_split_room_stays_on_its_own_node_and_an_unplaced_one_goes_to_the_first() -> None:
    seen = {"node-1": {"ga", "wg"}, "node-2": {"ga", "wg"}}
    assert checked_placements({"ga": "node-2"}, seen) == {"ga": "node-2", "wg": "node-1"}
