"""Several nodes behind Kamailio: the proxy's configuration and each node's own files, as
rendered from cluster-config/, asterisk-config/nodes/ and dialplan/nodes/."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.asterisk.install import AsteriskInstall
from bridge.asterisk.node_config import NodeLayout, node_settings
from bridge.asterisk.process import render_config
from bridge.cli import main
from bridge.domain.nodes import Address, PortRange, nodes_on_one_machine
from bridge.errors import StartupError
from bridge.kamailio import render_proxy
from bridge.runtime import Runtime
from bridge.serve import check_nodes
from bridge.settings import Settings
from tests.conftest import E2E_ROOMS
from tests.support import free_port

NODES = nodes_on_one_machine(3, "127.0.0", 5060, 5038, PortRange(20000, 23999))
PROXY = Address("127.0.0.1", 5060)


def install_in(folder: Path) -> AsteriskInstall:
    root = folder / "tree"  # an Asterisk tree as far as rendering looks at it
    (root / "usr/lib/asterisk/modules").mkdir(parents=True, exist_ok=True)
    return AsteriskInstall(
        root=root, binary=root / "usr/sbin/asterisk", loader=None, version="22.0", private=True
    )


def settings_lines(text: str, section: str) -> list[list[str]]:
    """Every ``[section]`` block's lines that are settings (no comments, no blanks)."""
    blocks = text.split(f"[{section}]")[1:]
    return [
        [ln for ln in block.split("\n[")[0].splitlines() if ln and not ln.startswith(";")]
        for block in blocks
    ]


def test_three_nodes_on_one_machine_share_the_rtp_range_without_overlap() -> None:
    assert [(n.name, str(n.sip), str(n.ami), str(n.rtp)) for n in NODES] == [
        ("node-1", "127.0.0.2:5060", "127.0.0.2:5038", "20000-21331"),
        ("node-2", "127.0.0.3:5060", "127.0.0.3:5038", "21332-22663"),
        ("node-3", "127.0.0.4:5060", "127.0.0.4:5038", "22664-23995"),
    ]


def test_a_node_knows_its_peers_by_address_into_their_own_context(tmp_path: Path) -> None:
    settings = node_settings(Settings(state_dir=tmp_path), NODES[0])
    etc = render_config(
        settings, install_in(tmp_path), layout=NodeLayout.of("node-1", NODES, PROXY)
    )
    etc = etc.parent
    assert etc == tmp_path / "nodes" / "node-1" / "etc"
    peers = (etc / "pjsip-nodes.conf").read_text()
    assert "iobridge-node-1-node-1" not in peers  # itself: no endpoint
    for peer, host in (("node-2", "127.0.0.3"), ("node-3", "127.0.0.4")):
        endpoint, identify = settings_lines(peers, f"iobridge-node-1-{peer}")[1:]
        assert "context = iobridge-fromnode" in endpoint
        assert identify == [
            "type = identify",
            f"endpoint = iobridge-node-1-{peer}",
            f"match = {host}",
        ]
    proxy, identify = settings_lines(peers, "iobridge-node-1-proxy")
    assert "context = iobridge-from-proxy" in proxy
    assert identify[-1] == "match = 127.0.0.1"
    pjsip = (etc / "pjsip.conf").read_text()
    assert "#tryinclude pjsip-nodes.conf" in pjsip
    assert "bind = 127.0.0.2:5060" in pjsip
    assert "rewrite_contact = no" in settings_lines(pjsip, "anonymous")[0]
    assert "bindaddr = 127.0.0.2" in (etc / "manager.conf").read_text()
    rtp = (etc / "rtp.conf").read_text()
    assert "rtpstart = 20000\nrtpend = 21331" in rtp
    assert "\nstrictrtp = no\n" in rtp  # a hand-over's first packets are not dropped
    dialplan = (etc / "extensions-nodes.conf").read_text()
    fromnode = dialplan.split("[iobridge-fromnode]\n", 1)[1].split("\n[", 1)[0]
    assert "\nexten => iobridge-join,1," in fromnode
    # A big room's link, and nothing else, goes on to [iobridge-link].
    assert "exten => _iobridge-li[n]k-.,1,Goto(iobridge-link,${EXTEN},1)" in fromnode
    # The room's node answers a handed-over caller without waiting for a first audio frame
    # (bench/README.md "Several nodes": the wait was in every hand-over's latency).
    join = fromnode.split("exten => iobridge-join,1,", 1)[1]
    assert " same => n,Answer(,i)\n same => n,ConfBridge(" in join
    assert "n,Answer()" not in join
    assert "Dial(PJSIP/iobridge-join@iobridge-node-1-${IOBRIDGE_NODE}" in dialplan
    assert "AGI(${IOBRIDGE_AGI}/entry,${IOBRIDGE_SOURCE},anonymous)" in dialplan


def test_one_asterisk_alone_has_no_node_files_and_keeps_its_contact_rewriting(
    tmp_path: Path,
) -> None:
    etc = render_config(Settings(state_dir=tmp_path), install_in(tmp_path)).parent
    assert not (etc / "pjsip-nodes.conf").exists()
    assert not (etc / "extensions-nodes.conf").exists()
    assert (
        "rewrite_contact = yes" in settings_lines((etc / "pjsip.conf").read_text(), "anonymous")[0]
    )
    assert "bindaddr = 127.0.0.1" in (etc / "manager.conf").read_text()
    assert "\nstrictrtp = yes\n" in (etc / "rtp.conf").read_text()


def test_the_proxy_lists_every_node_and_stays_in_the_dialog(tmp_path: Path) -> None:
    config = render_proxy(tmp_path / "kamailio", Address("127.0.0.1", 5060), NODES)
    listed = [ln for ln in (config.parent / "dispatcher.list").read_text().splitlines()]
    assert [ln for ln in listed if not ln.startswith("#")] == [
        "1 sip:127.0.0.2:5060 0 0 name=node-1",
        "1 sip:127.0.0.3:5060 0 0 name=node-2",
        "1 sip:127.0.0.4:5060 0 0 name=node-3",
    ]
    text = config.read_text()
    assert "listen=udp:127.0.0.1:5060" in text
    assert "record_route();" in text
    assert 'append_hf("X-IOBridge-Source: $si:$sp\\r\\n");' in text
    assert 'modparam("dispatcher", "ds_probing_mode", 1)' in text
    assert 'ds_select_dst("1", "0")' in text.split("route[WITHINDLG]")[1]  # Call-ID fallback


@pytest.mark.skipif(
    shutil.which("kamailio", path="/usr/sbin:/usr/bin") is None, reason="no kamailio"
)
def test_kamailio_loads_the_rendered_configuration(tmp_path: Path) -> None:
    config = render_proxy(tmp_path / "kamailio", Address("127.0.0.1", 5060), NODES)
    checked = subprocess.run(
        ["kamailio", "-c", "-f", str(config)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr[-2000:]


async def test_serve_checks_every_node_and_names_the_unreachable_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NODE_SECRET", "not-used: nothing listens")
    nodes = [
        replace(node, ami=Address("127.0.0.1", free_port()), secret_env="NODE_SECRET")
        for node in NODES
    ]
    said: list[str] = []
    await check_nodes(Settings(state_dir=tmp_path), nodes, said.append)
    assert said[:3] == [
        f"node {node.name}: no AMI login on {node.ami} yet (the service starts on the other "
        "nodes and keeps trying)"
        for node in nodes
    ]
    assert said[3] == "io-bridge service drives 3 nodes: node-1, node-2, node-3"


async def test_serve_refuses_a_node_whose_secret_cannot_be_read(tmp_path: Path) -> None:

    nodes = [replace(NODES[0], secret_file=str(tmp_path / "missing"))]
    with pytest.raises(StartupError, match=r"^node node-1: cannot read secret_file .*missing"):
        await check_nodes(Settings(state_dir=tmp_path), nodes, print)


def test_the_proxy_configuration_is_written_for_the_nodes_file(tmp_path: Path) -> None:
    nodes_file = tmp_path / "nodes.yaml"
    nodes_file.write_text(
        "nodes:\n  - name: a\n    sip: 10.0.0.11:5060\n    ami: 10.0.0.11:5038\n"
        "    secret_env: A_AMI\n    rtp: 20000-23999\n"
    )
    env = {"IOBRIDGE_NODES_FILE": str(nodes_file), "IOBRIDGE_STATE_DIR": str(tmp_path / "s")}
    args = ["nodes", "proxy-config", str(tmp_path / "proxy"), "--listen"]
    result = CliRunner().invoke(main, [*args, "203.0.113.5:5060"], env=env)
    assert result.exit_code == 0, result.output
    assert "listen=udp:203.0.113.5:5060" in (tmp_path / "proxy" / "kamailio.cfg").read_text()
    assert "1 sip:10.0.0.11:5060 0 0 name=a" in (tmp_path / "proxy/dispatcher.list").read_text()
    result = CliRunner().invoke(main, [*args, "nowhere"], env=env)
    assert result.exit_code == 1
    assert "--listen: must be an address and a port like 10.0.0.11:5060" in result.output


async def test_the_service_does_not_start_without_a_nodes_ami_secret_and_says_whose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOPE_AMI", raising=False)
    nodes_file = tmp_path / "nodes.yaml"
    nodes_file.write_text(
        "nodes:\n  - name: a\n    sip: 10.0.0.11:5060\n    ami: 10.0.0.11:5038\n"
        "    secret_env: NOPE_AMI\n    rtp: 20000-23999\n"
    )
    settings = Settings(
        state_dir=tmp_path / "state",
        nodes_file=nodes_file,
        rooms_file=E2E_ROOMS,
        http_port=free_port(),
        agi_port=free_port(),
    )
    runtime = Runtime(settings, progress=lambda _: None)
    with pytest.raises(
        StartupError, match=r"^node a: the environment variable NOPE_AMI is not set$"
    ):
        await runtime.start(with_pbx=False)
