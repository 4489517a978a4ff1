"""``iobridge up --nodes N``: several Asterisk nodes behind Kamailio on one machine (docs/
admin.md, "More than one machine"). Kamailio listens where one Asterisk would (the dial line
is the same); node ``i`` listens on the loopback address ``.i+1`` of the same /24, with the
same SIP and AMI ports, its own folder in the state folder and its share of the RTP range.
The nodes file the service reads is written beside them (``nodes.yaml`` in the state folder;
its AMI secret is the install's own, from the state folder)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from pathlib import Path

from bridge.asterisk.install import AsteriskInstall
from bridge.asterisk.node_config import NodeLayout, node_settings
from bridge.asterisk.process import AsteriskProcess, AsteriskProcessError
from bridge.asterisk.users import Owners
from bridge.domain.nodes import Address, NodeSpec, PortRange, nodes_on_one_machine
from bridge.errors import StartupError
from bridge.kamailio import KamailioError, KamailioProcess
from bridge.runtime import keep_asterisk_running
from bridge.settings import PRIVATE_FILE, Settings

log = logging.getLogger(__name__)

NODES_FILE = "nodes.yaml"


def loopback_nodes(settings: Settings, count: int) -> tuple[NodeSpec, ...]:
    """The nodes of ``up --nodes COUNT`` beside Kamailio on ``bind_host`` (a loopback
    address ending in .1: 127.0.0.1 by default)."""
    host = settings.bind_host
    if not ipaddress.ip_address(host).is_loopback or not host.endswith(".1"):
        raise StartupError(
            f"--nodes runs every node on this machine: the address must be a loopback one "
            f"ending in .1 (like 127.0.0.1), got {host}"
        )
    if not 1 <= count <= 20:
        raise StartupError(f"--nodes takes 1 to 20 nodes, got {count}")
    rtp = PortRange(settings.rtp_port_start, settings.rtp_port_end)
    try:
        return nodes_on_one_machine(
            count, host.rsplit(".", 1)[0], settings.sip_port, settings.ami_port, rtp
        )
    except ValueError as exc:
        raise StartupError(str(exc)) from exc


def write_nodes_file(settings: Settings, nodes: tuple[NodeSpec, ...]) -> Path:
    """The nodes file the service reads (its format: ``bridge.nodesfile``)."""
    secret = settings.state_dir / "ami-secret"
    lines = ["# Written by iobridge up --nodes: the nodes it runs on this machine.", "nodes:"]
    for node in nodes:
        lines += [
            f"  - name: {node.name}",
            f"    sip: {node.sip}",
            f"    ami: {node.ami}",
            f"    secret_file: {secret}",
            f"    rtp: {node.rtp}",
        ]
    path = settings.state_dir / NODES_FILE
    path.write_text("\n".join(lines) + "\n")
    path.chmod(PRIVATE_FILE)
    return path


class NodesOnOneMachine:
    """Kamailio and the Asterisk nodes, started and stopped together, each node kept
    running (started again if it dies) like the one Asterisk of ``up``."""

    def __init__(
        self,
        settings: Settings,
        install: AsteriskInstall,
        nodes: tuple[NodeSpec, ...],
        owners: Owners | None = None,
    ) -> None:
        self.nodes = nodes
        proxy = Address(settings.bind_host, settings.sip_port)
        self.proxy = KamailioProcess(settings.state_dir / "kamailio", proxy, nodes)
        self.asterisks = {
            node.name: AsteriskProcess(
                node_settings(settings, node),
                install,
                owners,
                NodeLayout.of(node.name, nodes, proxy),
            )
            for node in nodes
        }
        self._watches: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        try:
            await asyncio.gather(*(pbx.start() for pbx in self.asterisks.values()))
            await self.proxy.start()
        except (AsteriskProcessError, KamailioError) as exc:
            await self.stop()
            raise StartupError(str(exc)) from exc
        loop = asyncio.get_running_loop()
        for name, pbx in self.asterisks.items():
            watch = loop.create_task(keep_asterisk_running(pbx), name=f"asterisk-{name}")
            self._watches.append(watch)

    async def stop(self) -> None:
        """Kamailio first (no new call comes in), then every node."""
        for task in self._watches:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        self._watches = []
        await self.proxy.stop()
        await asyncio.gather(*(pbx.stop() for pbx in self.asterisks.values()))
