"""One node's Asterisk when the service drives several (docs/admin.md, "More than one
machine"): the settings it runs with (its own folder, SIP and AMI address, RTP range) and
its own two files, rendered from ``asterisk-config/nodes/`` and ``dialplan/nodes/`` beside
the rest: ``pjsip-nodes.conf`` (its peers, known by address, whose calls land in
``[iobridge-fromnode]``) and ``extensions-nodes.conf`` (the hand-over of a caller to the
room's node). pjsip.conf and extensions.conf read them with ``#tryinclude``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bridge.asterisk.config_files import render
from bridge.domain.nodes import Address, NodeSpec
from bridge.settings import Settings

NODE_FILES = {"pjsip-nodes.conf": "asterisk-config", "extensions-nodes.conf": "dialplan"}


@dataclass(frozen=True)
class NodeLayout:
    """A node, the others of the same io-bridge (its peers), and Kamailio's address."""

    node: NodeSpec
    peers: tuple[NodeSpec, ...]
    proxy: Address

    @classmethod
    def of(cls, name: str, nodes: Sequence[NodeSpec], proxy: Address) -> NodeLayout:
        node = next(n for n in nodes if n.name == name)
        return cls(node, tuple(n for n in nodes if n.name != name), proxy)


def nodes_dir(settings: Settings) -> Path:
    """Where ``up --nodes N`` keeps its nodes' folders, one each, in the state folder."""
    return settings.state_dir / "nodes"


def node_settings(settings: Settings, node: NodeSpec) -> Settings:
    """``settings`` as one node's Asterisk sees them: its folder, addresses and ports."""
    return settings.model_copy(
        update={
            "asterisk_dir": nodes_dir(settings) / node.name,
            "bind_host": node.sip.host,
            "sip_port": node.sip.port,
            "ami_port": node.ami.port,
            "rtp_port_start": node.rtp.first,
            "rtp_port_end": node.rtp.last,
        }
    )


def node_values(layout: NodeLayout) -> dict[str, object]:
    """What a node's templates are filled in with, beside ``template_values``."""
    return {
        "node": layout.node,
        "peers": layout.peers,
        "proxy": layout.proxy,
        "ami_host": layout.node.ami.host,
        "rewrite_contact": "no",  # behind Kamailio: see pjsip.conf
        "strict_rtp": "no",  # hand-overs join without dropped audio: see rtp.conf
    }


def render_node_files(settings: Settings, values: dict[str, object]) -> dict[str, str]:
    """The node's own files by name, rendered (``values``: template and node values)."""
    folders = {"asterisk-config": settings.config_dir, "dialplan": settings.dialplan_dir}
    return {
        name: render(folders[folder] / "nodes" / name, values)
        for name, folder in NODE_FILES.items()
    }
