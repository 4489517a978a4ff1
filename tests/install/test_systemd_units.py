"""The systemd units in contrib/systemd/ split Asterisk and the service into two users: who
owns what, with which mode, which settings file each unit reads, and that nothing of the
service's own (the database URL, the PIN key) reaches Asterisk's environment."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONTRIB = Path(__file__).resolve().parents[2] / "contrib" / "systemd"
INSTALLED = {  # where docs/admin.md installs each settings file
    "/etc/iobridge/iobridge.env": CONTRIB / "iobridge.env",
    "/etc/iobridge/service.env": CONTRIB / "service.env",
}
SERVICE_ONLY = (
    "IOBRIDGE_DATABASE_URL", "IOBRIDGE_PIN_KEY", "IOBRIDGE_METRICS_TOKEN", "IOBRIDGE_WEBHOOKS",
    "IOBRIDGE_ROOMS_FILE",
)  # fmt: skip


def unit(name: str) -> dict[str, list[str]]:
    """The [Service] and [Unit] keys of a unit file, each with all its values in order."""
    keys: dict[str, list[str]] = {}
    for line in (CONTRIB / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def environment(name: str) -> dict[str, str]:
    """What a unit's process finds in its environment: its files' settings, then its own."""
    found: dict[str, str] = {}
    keys = unit(name)
    for path in keys.get("EnvironmentFile", []):
        for line in INSTALLED[path.lstrip("-")].read_text().splitlines():
            if re.match(r"[A-Z_]+=", line):
                key, _, value = line.partition("=")
                found[key] = value
    for line in keys.get("Environment", []):
        for item in line.split():
            key, _, value = item.partition("=")
            found[key] = value
    return found


def tmpfiles() -> dict[str, tuple[str, str, str]]:
    """Path -> (mode, user, group) of every line in iobridge.tmpfiles.conf."""
    entries = {}
    for line in (CONTRIB / "iobridge.tmpfiles.conf").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            _, path, mode, user, group, _ = line.split()
            entries[path] = (mode, user, group)
    return entries


def sysusers() -> list[list[str]]:
    lines = (CONTRIB / "iobridge.sysusers.conf").read_text().splitlines()
    return [line.split() for line in lines if line.strip() and not line.startswith("#")]


def test_asterisk_and_the_service_run_as_two_users_that_sysusers_makes() -> None:
    assert unit("iobridge-asterisk.service")["User"] == ["iobridge-asterisk"]
    assert unit("iobridge-asterisk.service")["Group"] == ["iobridge-asterisk"]
    assert unit("iobridge.service")["User"] == ["iobridge"]
    assert unit("iobridge.service")["Group"] == ["iobridge"]
    assert {line[1] for line in sysusers() if line[0] == "u"} == {"iobridge", "iobridge-asterisk"}
    # Asterisk's user is in none of the service's groups: it reaches the recordings folder as
    # its owner, and nothing else of the service's.
    assert [line for line in sysusers() if line[0] == "m"] == []


def test_the_asterisk_unit_reads_only_the_shared_settings_and_never_the_database_url() -> None:
    assert unit("iobridge-asterisk.service")["EnvironmentFile"] == ["/etc/iobridge/iobridge.env"]
    assert unit("iobridge.service")["EnvironmentFile"] == [
        "/etc/iobridge/iobridge.env",
        "/etc/iobridge/service.env",
    ]
    asterisk = environment("iobridge-asterisk.service")
    assert not set(SERVICE_ONLY) & set(asterisk)
    # Not even as an example an admin could uncomment in the shared file.
    shared = (CONTRIB / "iobridge.env").read_text()
    assert [name for name in SERVICE_ONLY if name in shared] == []
    service = environment("iobridge.service")
    assert service["IOBRIDGE_ROOMS_FILE"] == "/etc/iobridge/rooms.yaml"
    assert "#IOBRIDGE_DATABASE_URL=" in (CONTRIB / "service.env").read_text()


def test_each_folder_belongs_to_its_user_and_the_service_state_is_closed_to_asterisk() -> None:
    folders = tmpfiles()
    asterisk, service = environment("iobridge-asterisk.service"), environment("iobridge.service")
    state = service["IOBRIDGE_STATE_DIR"]
    assert asterisk["IOBRIDGE_STATE_DIR"] == state  # where root finds the shared secrets
    assert folders[state] == ("0700", "iobridge", "iobridge")
    assert folders[asterisk["IOBRIDGE_ASTERISK_DIR"]] == (
        "0700",
        "iobridge-asterisk",
        "iobridge-asterisk",
    )
    recordings = service["IOBRIDGE_RECORDINGS_DIR"]
    assert asterisk["IOBRIDGE_RECORDINGS_DIR"] == recordings
    assert folders[recordings] == ("2770", "iobridge-asterisk", "iobridge")  # setgid, shared
    # The settings: root reads them for systemd; the folder is closed to Asterisk's user.
    assert folders["/etc/iobridge"] == ("0750", "root", "iobridge")
    assert folders["/etc/iobridge/service.env"] == ("0640", "root", "iobridge")
    # Each unit's StateDirectory= is the folder tmpfiles gives its user; both may write
    # the recordings under ProtectSystem=strict.
    for name in ("iobridge.service", "iobridge-asterisk.service"):
        keys = unit(name)
        assert folders[f"/var/lib/{keys['StateDirectory'][0]}"][1] == keys["User"][0]
        assert keys["StateDirectoryMode"] == ["0700"]
        assert keys["ReadWritePaths"] == [recordings]
    admin = (CONTRIB / "iobridge-admin").read_text()
    for setting in ("IOBRIDGE_STATE_DIR", "IOBRIDGE_ASTERISK_DIR", "IOBRIDGE_RECORDINGS_DIR"):
        value = asterisk[setting]
        assert f"{setting}={value}" in admin


def test_root_renders_asterisks_configuration_and_asterisk_runs_it_as_its_user() -> None:
    keys = unit("iobridge-asterisk.service")
    assert keys["ExecStartPre"] == [
        "/opt/iobridge/bin/iobridge asterisk ensure",  # builds as Asterisk's user
        "+/opt/iobridge/bin/iobridge asterisk render",  # "+": as root
    ]
    assert keys["ExecStart"] == ["/opt/iobridge/bin/iobridge asterisk run --rendered"]
    assert environment("iobridge-asterisk.service")["IOBRIDGE_ASTERISK_USER"] == (
        "iobridge-asterisk"
    )


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here"
)
def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path: Path) -> None:
    # verify checks that each command exists: point it at this environment's iobridge.
    iobridge = Path(sys.executable).parent / "iobridge"
    names = ["iobridge.service", "iobridge-asterisk.service"]
    for name in names:
        text = (CONTRIB / name).read_text().replace("/opt/iobridge/bin/iobridge", str(iobridge))
        (tmp_path / name).write_text(text)
    checked = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in names)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0 and checked.stdout + checked.stderr == "", checked.stderr
