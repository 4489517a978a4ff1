"""The nodes file: what a good one gives, and one line per problem naming the node."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.domain.nodes import (
    Address,
    NodeSpec,
    NodeState,
    NoLiveNode,
    PortRange,
    node_clashes,
    place_caller,
    place_room,
)
from bridge.nodesfile import (
    NodesFileError,
    load_nodes_file,
    parse_nodes_config,
    parse_nodes_text,
)

GOOD = """\
nodes:
  - name: node-1
    sip: 10.0.0.11:5060
    ami: 10.0.0.11:5038
    secret_env: NODE_1_AMI
    rtp: 20000-23999
  - name: node-2
    sip: 10.0.0.12:5060
    ami: 10.0.0.12:5038
    secret_file: node-2.ami
    rtp: 24000-27999
    weight: 2
"""


def problems(text: str) -> list[str]:
    with pytest.raises(NodesFileError) as caught:
        parse_nodes_text(text, "nodes.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_good_file_gives_every_node_with_its_addresses_and_ranges() -> None:
    nodes = parse_nodes_text(GOOD, "/etc/iobridge/nodes.yaml")
    assert [n.name for n in nodes] == ["node-1", "node-2"]
    assert nodes[0].sip == Address("10.0.0.11", 5060)
    assert nodes[0].ami == Address("10.0.0.11", 5038)
    assert nodes[0].rtp == PortRange(20000, 23999)
    assert nodes[0].secret_env == "NODE_1_AMI" and nodes[0].weight == 1
    assert nodes[1].secret_file == "/etc/iobridge/node-2.ami"  # beside the nodes file
    assert nodes[1].weight == 2


def test_a_duplicate_sip_address_names_the_node_and_its_line() -> None:
    text = GOOD.replace("sip: 10.0.0.12:5060", "sip: 10.0.0.11:5060")
    assert problems(text) == [
        "nodes.yaml:8: nodes[1].sip: SIP address 10.0.0.11:5060 is already node 'node-1''s"
    ]


def test_overlapping_rtp_ranges_are_one_line_naming_both_nodes() -> None:
    text = GOOD.replace("rtp: 24000-27999", "rtp: 23000-27999")
    assert problems(text) == [
        "nodes.yaml:11: nodes[1].rtp: RTP ports 23000-27999 overlap node 'node-1''s "
        "20000-23999 (each node needs ports of its own)"
    ]


def test_a_duplicate_name_and_ami_address_are_each_reported() -> None:
    text = GOOD.replace("name: node-2", "name: node-1").replace(
        "ami: 10.0.0.12:5038", "ami: 10.0.0.11:5038"
    )
    assert problems(text) == [
        "nodes.yaml:7: nodes[1].name: duplicate node name 'node-1'",
        "nodes.yaml:9: nodes[1].ami: AMI address 10.0.0.11:5038 is already node 'node-1''s",
    ]


def test_an_inline_secret_is_refused_without_echoing_it() -> None:
    text = GOOD.replace("secret_env: NODE_1_AMI", "secret: hunter2")
    found = problems(text)
    assert (
        "nodes.yaml:5: nodes[0].secret: the AMI secret is never written in the nodes file (the "
        "value is not shown here): put it in a file and name it with secret_file, or name an "
        "environment variable with secret_env"
    ) in found
    assert not any("hunter2" in line for line in found)


def test_bad_values_say_what_was_expected() -> None:
    text = (
        GOOD.replace("rtp: 20000-23999", "rtp: 23999-20000")
        .replace("sip: 10.0.0.11:5060", "sip: nowhere")
        .replace("weight: 2", "weight: 0")
        .replace("    secret_env: NODE_1_AMI\n", "")
    )
    assert problems(text) == [
        "nodes.yaml:2: nodes[0].secret_file: needs exactly one of secret_file and secret_env",
        "nodes.yaml:3: nodes[0].sip: must be an address and a port like 10.0.0.11:5060, "
        "got 'nowhere'",
        "nodes.yaml:5: nodes[0].rtp: must be a range of ports like 20000-23999, got '23999-20000'",
        "nodes.yaml:11: nodes[1].weight: must be a whole number from 1 to 100 (a node of weight "
        "2 takes twice the calls), got 0",
    ]


def test_an_unknown_key_suggests_the_near_one() -> None:
    found = problems(GOOD.replace("weight: 2", "wieght: 2"))
    assert found == [
        "nodes.yaml:12: nodes[1].wieght: unknown key 'wieght' (expected one of: name, sip, ami, "
        "rtp, secret_file, secret_env, weight); did you mean 'weight'?"
    ]


def test_an_empty_or_missing_file_is_one_problem(tmp_path: Path) -> None:
    assert problems("nodes:\n") == ["nodes.yaml:1: nodes: no nodes listed; add at least one"]
    with pytest.raises(NodesFileError) as caught:
        load_nodes_file(tmp_path / "absent.yaml")
    message = str(caught.value)
    assert message.endswith("absent.yaml:0: file: cannot read the file: No such file or directory")


def node(name: str, rtp: int, weight: int = 1) -> NodeSpec:
    host = f"127.0.0.{rtp // 1000 - 18}"
    return NodeSpec(
        name, Address(host, 5060), Address(host, 5038), PortRange(rtp, rtp + 999), weight
    )


def test_ranges_that_touch_do_not_clash() -> None:
    assert node_clashes([node("a", 20000), node("b", 21000)]) == []


def test_a_new_room_goes_to_the_least_loaded_live_node_per_weight() -> None:
    nodes = [node("a", 20000), node("b", 21000), node("c", 22000, weight=2)]
    up = {n.name: NodeState.UP for n in nodes}
    assert place_room(nodes, up, {}) == "a"  # a tie: the first declared
    assert place_room(nodes, up, {"a": 3, "b": 1, "c": 4}) == "b"
    assert place_room(nodes, up, {"a": 3, "b": 3, "c": 4}) == "c"  # 4 / 2 < 3
    states = up | {"b": NodeState.DRAINING, "c": NodeState.DOWN}
    assert place_room(nodes, states, {"a": 50}) == "a"
    with pytest.raises(NoLiveNode):
        place_room(nodes, {**states, "a": NodeState.DOWN}, {})


def test_max_callers_per_node_is_read_and_defaults_to_the_room_profile_size() -> None:
    assert parse_nodes_config(GOOD, "nodes.yaml").max_callers_per_node == 500
    text = "max_callers_per_node: 2\n" + GOOD
    assert parse_nodes_config(text, "nodes.yaml").max_callers_per_node == 2


@pytest.mark.parametrize("value", ["1", "many", "0x10", "2.5", "[2]"])
def test_a_wrong_max_callers_per_node_is_one_line_naming_it(value: str) -> None:
    text = GOOD + f"max_callers_per_node: {value}\n"
    (line,) = problems(text)
    assert line.startswith("nodes.yaml:13: max_callers_per_node: must be a whole number from 2 ")


def test_the_next_caller_of_a_room_stays_home_until_its_node_holds_the_limit() -> None:
    third = NodeSpec(
        "node-3", Address("10.0.0.13", 5060), Address("10.0.0.13", 5038), PortRange(1, 2)
    )
    nodes = (*parse_nodes_text(GOOD, "nodes.yaml"), third)
    up = {node.name: NodeState.UP for node in nodes}
    load = {"node-1": 10, "node-2": 50, "node-3": 3}
    assert place_caller("node-1", nodes, up, load, {"node-1": 1}, 2) == "node-1"
    # Full at home: the least-loaded other live node, never the home node.
    assert place_caller("node-1", nodes, up, load, {"node-1": 2}, 2) == "node-3"
    assert place_caller("node-3", nodes, up, load, {"node-3": 2}, 2) == "node-1"
    # A node the room already spread to keeps taking its callers (no second link) ...
    assert place_caller("node-1", nodes, up, load, {"node-1": 2, "node-2": 1}, 2) == "node-2"
    # ... until it is full too; then a fresh node.
    spread = {"node-1": 2, "node-2": 2}
    assert place_caller("node-1", nodes, up, load, spread, 2) == "node-3"
    # Down or draining nodes take nobody; every node full: home (ConfBridge's limit decides).
    states = {**up, "node-3": NodeState.DOWN, "node-2": NodeState.DRAINING}
    assert place_caller("node-1", nodes, states, load, {"node-1": 2}, 2) == "node-1"
    full = {"node-1": 2, "node-2": 2, "node-3": 2}
    assert place_caller("node-1", nodes, up, load, full, 2) == "node-1"
