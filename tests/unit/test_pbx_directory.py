"""The directory of PBXs answers, for each room, the ConferenceBridge of the Asterisk node
that holds it: the one node of today for every room, or the node a room is placed on."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bridge.asterisk.ami import AmiClient
from bridge.asterisk.conference import ConferenceBridge
from bridge.service.pbx_directory import LOCAL, PbxDirectory, UnknownNode


def node(port: int) -> ConferenceBridge:
    async def ignore_link(up: bool) -> None:
        return None

    ami = AmiClient("127.0.0.1", port, "iobridge", SecretStr("x"), lambda m: None, ignore_link)
    return ConferenceBridge(ami, Path("/sounds"))


def test_a_service_with_one_asterisk_finds_every_room_on_it() -> None:
    only = node(5038)
    directory = PbxDirectory.single(only)
    assert directory.bridge_for("ga") is only
    assert directory.bridge_for("board") is only
    assert directory.node_of("ga") == LOCAL


def test_a_room_placed_on_a_node_is_acted_on_there_and_the_others_stay_on_the_default() -> None:
    north, south = node(5038), node(5039)
    directory = PbxDirectory({"north": north, "south": south}, default="north")
    directory.place("board", "south")
    assert directory.bridge_for("board") is south
    assert directory.bridge_for("ga") is north


def test_a_room_cannot_be_placed_on_a_node_the_directory_does_not_have() -> None:
    directory = PbxDirectory.single(node(5038))
    with pytest.raises(UnknownNode, match="'board' placed on 'south'"):
        directory.place("board", "south")
    with pytest.raises(UnknownNode, match="default node 'north'"):
        PbxDirectory({"south": node(5039)}, default="north")
