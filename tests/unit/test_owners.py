"""Root starting io-bridge with two users named: which settings it refuses and why, and how it
hands folders over (never through a link, never a file with a second name)."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

import pytest

from bridge.asterisk.users import give_asterisk_dirs, owners_of
from bridge.errors import StartupError
from bridge.settings import Settings

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hands files to other users: root")
# Two unprivileged users every Debian system has.
ASTERISK, SERVICE = pwd.getpwnam("daemon"), pwd.getpwnam("nobody")


def two_users(tmp_path: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "state_dir": tmp_path / "state",
        "asterisk_dir": tmp_path / "asterisk",
        "recordings_dir": tmp_path / "recordings",
        "asterisk_user": ASTERISK.pw_name,
        "service_user": SERVICE.pw_name,
        **changes,
    }
    return Settings(**values)  # type: ignore[arg-type]


def owner(path: Path) -> tuple[int, int, int]:
    info = path.lstat()
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def test_root_with_both_users_named_runs_each_as_its_own(tmp_path: Path) -> None:
    owners = owners_of(two_users(tmp_path))
    assert owners is not None
    assert (owners.asterisk.uid, owners.service.uid) == (ASTERISK.pw_uid, SERVICE.pw_uid)


def test_without_users_named_or_not_started_by_root_everything_runs_as_one_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert owners_of(Settings(state_dir=tmp_path)) is None
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert owners_of(two_users(tmp_path)) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"service_user": None}, "IOBRIDGE_SERVICE_USER is not set: name both users"),
        ({"asterisk_user": "no-such-user"}, "IOBRIDGE_ASTERISK_USER: there is no user"),
        ({"service_user": "daemon"}, "are one user (daemon): Asterisk would read the database"),
        ({"service_user": "root"}, "IOBRIDGE_SERVICE_USER: 'root' is root"),
    ],
)
def test_settings_that_would_not_separate_the_two_are_refused_with_the_reason(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(StartupError, match=message.replace("(", r"\(").replace(")", r"\)")):
        owners_of(two_users(tmp_path, **changes))


def test_asterisks_folder_inside_the_state_folder_is_refused_as_unreachable(
    tmp_path: Path,
) -> None:
    settings = two_users(tmp_path, asterisk_dir=tmp_path / "state" / "asterisk")
    with pytest.raises(StartupError) as refused:
        owners_of(settings)
    assert str(refused.value).startswith(
        f"IOBRIDGE_ASTERISK_DIR: {tmp_path}/state/asterisk is inside the state folder"
    )


def test_asterisk_gets_its_folder_and_the_service_group_the_recordings_never_through_a_link(
    tmp_path: Path,
) -> None:
    settings = two_users(tmp_path)
    owners = owners_of(settings)
    assert owners is not None
    (settings.asterisk_dir / "etc").mkdir(parents=True)
    (settings.asterisk_dir / "etc" / "manager.conf").write_text("secret")
    settings.recordings_dir.mkdir()
    (settings.recordings_dir / "room-1.wav").write_text("RIFF")
    outside = tmp_path / "root-only"
    outside.write_text("x")
    outside.chmod(0o600)
    (settings.recordings_dir / "planted.wav").symlink_to(outside)

    give_asterisk_dirs(settings, owners)

    a, s = ASTERISK.pw_uid, SERVICE.pw_gid
    assert owner(settings.asterisk_dir / "etc" / "manager.conf")[:2] == (a, ASTERISK.pw_gid)
    assert owner(settings.recordings_dir) == (a, s, 0o2770)
    assert owner(settings.recordings_dir / "room-1.wav") == (a, s, 0o640)
    assert owner(outside) == (0, 0, 0o600)  # the link was not followed


def test_a_file_with_a_second_name_is_not_handed_over(tmp_path: Path) -> None:
    settings = two_users(tmp_path)
    owners = owners_of(settings)
    assert owners is not None
    settings.recordings_dir.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("root's")
    os.link(elsewhere, settings.recordings_dir / "x.wav")
    with pytest.raises(StartupError, match=r"x.wav has more than one name"):
        give_asterisk_dirs(settings, owners)
    assert owner(elsewhere)[:2] == (0, 0)


def test_root_does_not_read_a_secret_through_a_link(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    settings.state_dir.mkdir()
    (settings.state_dir / "ami-secret").symlink_to("/etc/shadow")
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        settings.ensure_ami_secret()
