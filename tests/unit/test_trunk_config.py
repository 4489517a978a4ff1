"""pjsip-trunks.conf: each trunk known by its addresses (identify), trust_id_inbound on
trunks only, the secret in its auth section alone, and a missing secret refused by name."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bridge.asterisk.config_files import sections
from bridge.asterisk.trunk_config import TrunkSecretMissing, render_trunks, write_trunks
from bridge.domain.trunks import Outbound, Transport, TrunkKind, TrunkNumber, TrunkSpec
from bridge.settings import Settings

IP = TrunkSpec(
    name="carrier",
    kind=TrunkKind.IP,
    host="203.0.113.10",
    match=("203.0.113.0/28",),
    numbers=(TrunkNumber("+15557770000"),),
    outbound=Outbound(("+1555",)),
)


def registered(secret_file: Path) -> TrunkSpec:
    return TrunkSpec(
        name="voip",
        kind=TrunkKind.REGISTER,
        host="sip.example.net",
        transport=Transport.TCP,
        username="77001",
        secret_file=str(secret_file),
    )


def test_an_ip_trunk_is_an_endpoint_identified_by_its_networks(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    found = {s.name: s.text for s in sections(render_trunks(settings, [IP]))}
    assert "match = 203.0.113.0/28" in found["carrier-identify"]
    assert "endpoint = carrier" in found["carrier-identify"]
    assert "trust_id_inbound = yes" in found["carrier"]
    assert "dtmf_mode = auto" in found["carrier"]
    assert "allow = ulaw,alaw,g722" in found["carrier"]
    assert "carrier-auth" not in found and "transport-tcp" not in found


def test_a_register_trunk_has_its_secret_in_its_auth_section_only(tmp_path: Path) -> None:
    secret = tmp_path / "voip.secret"
    secret.write_text("pa;ss\n")
    settings = Settings(state_dir=tmp_path / "state")
    text = render_trunks(settings, [IP, registered(secret)])
    found = {s.name: s.text for s in sections(text)}
    assert "password = pa\\;ss" in found["voip-auth"]
    assert text.count("pa\\;ss") == 1
    assert "match = sip.example.net" in found["voip-identify"]
    assert "outbound_auth = voip-auth" in found["voip-registration"]
    assert "protocol = tcp" in found["transport-tcp"]
    written = write_trunks(settings, [registered(secret)])
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_a_missing_secret_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    with pytest.raises(TrunkSecretMissing, match="trunk voip: cannot read secret_file"):
        write_trunks(settings, [registered(tmp_path / "none")])
    assert not (settings.asterisk_dir / "etc" / "pjsip-trunks.conf").exists()


def test_a_secret_from_the_environment_is_read_at_render_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    trunk = TrunkSpec(
        name="voip", kind=TrunkKind.REGISTER, host="h.example", username="u", secret_env="VOIP_S"
    )
    with pytest.raises(TrunkSecretMissing, match="secret_env VOIP_S is empty or not set"):
        render_trunks(settings, [trunk])
    monkeypatch.setenv("VOIP_S", "from-env")
    assert "password = from-env" in render_trunks(settings, [trunk])
