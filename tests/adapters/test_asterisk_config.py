"""Asterisk's configuration as rendered into the run folder: what the admin's settings
put there, and nothing more."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bridge.asterisk.install import AsteriskInstall
from bridge.asterisk.process import render_config
from bridge.settings import Settings


def rendered_transport(settings: Settings) -> list[str]:
    root = settings.state_dir / "tree"  # an Asterisk tree as far as rendering looks at it
    (root / "usr/lib/asterisk/modules").mkdir(parents=True, exist_ok=True)
    install = AsteriskInstall(
        root=root, binary=root / "usr/sbin/asterisk", loader=None, version="22.0", private=True
    )
    conf = render_config(settings, install).parent / "pjsip.conf"
    text = conf.read_text()
    section = text[text.index("[transport-udp]") : text.index("[anonymous]")]
    return [line for line in section.splitlines() if line and not line.startswith(";")]


def test_the_transport_binds_the_configured_address_and_port(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, bind_host="0.0.0.0", sip_port=5070)
    assert rendered_transport(settings) == [
        "[transport-udp]",
        "type = transport",
        "protocol = udp",
        "bind = 0.0.0.0:5070",
    ]


def test_nat_settings_reach_the_transport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOBRIDGE_EXTERNAL_MEDIA_ADDRESS", "203.0.113.7")
    monkeypatch.setenv("IOBRIDGE_EXTERNAL_SIGNALING_ADDRESS", "sip.example.org")
    monkeypatch.setenv("IOBRIDGE_LOCAL_NET", "10.0.0.0/8, 172.16.0.0/12")
    assert rendered_transport(Settings(state_dir=tmp_path))[4:] == [
        "external_media_address = 203.0.113.7",
        "external_signaling_address = sip.example.org",
        "local_net = 10.0.0.0/8",
        "local_net = 172.16.0.0/12",
    ]


def test_an_address_cannot_smuggle_configuration_in(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="expected an IP address or a host name"):
        Settings(state_dir=tmp_path, external_media_address="1.2.3.4\n[evil]")
