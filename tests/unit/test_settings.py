"""Secrets are made once, kept private in the state folder, and never shown."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bridge.settings import Settings
from bridge.supervisor import child_environment


def test_the_ami_secret_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    first = settings.ensure_ami_secret().get_secret_value()
    path = tmp_path / "ami-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 24
    assert Settings(state_dir=tmp_path).ensure_ami_secret().get_secret_value() == first


def test_a_secret_given_in_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOBRIDGE_AMI_SECRET", "from-env")
    settings = Settings(state_dir=tmp_path)
    assert settings.ensure_ami_secret().get_secret_value() == "from-env"
    assert not (tmp_path / "ami-secret").exists()


def test_secrets_do_not_show_in_the_settings_repr(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    secret = settings.ensure_ami_secret().get_secret_value()
    assert secret not in repr(settings) and secret not in str(settings.model_dump())


def test_the_pin_key_is_made_once_with_mode_0600_or_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Settings(state_dir=tmp_path).ensure_pin_key().get_secret_value()
    assert stat.S_IMODE((tmp_path / "pin-key").stat().st_mode) == 0o600
    assert len(first) >= 32
    assert Settings(state_dir=tmp_path).ensure_pin_key().get_secret_value() == first
    monkeypatch.setenv("IOBRIDGE_PIN_KEY", "a key given to every process sharing a database")
    given = Settings(state_dir=tmp_path / "other").ensure_pin_key().get_secret_value()
    assert given == "a key given to every process sharing a database"


def test_the_service_under_up_gets_no_secret_spelled_as_stars(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    settings.ensure_pin_key()
    settings.ensure_ami_secret()
    env = child_environment(settings)
    assert "IOBRIDGE_PIN_KEY" not in env and "IOBRIDGE_AMI_SECRET" not in env
    assert env["IOBRIDGE_STATE_DIR"] == str(tmp_path)


def test_the_defaults_keep_everything_on_loopback(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    assert settings.bind_host == "127.0.0.1"
    assert settings.dial_target == "sip:1000@127.0.0.1:5060"
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert str(tmp_path) in settings.effective_database_url
