"""Two system users, when root starts io-bridge: Asterisk runs as one (``iobridge-asterisk``),
the bridge service as the other (``iobridge``), so that Asterisk cannot read what only the
service needs: the database, the PIN key, the tokens (docs/admin.md, "Two users").

Root renders Asterisk's configuration (the AMI and FastAGI secrets are kept in the service's
state folder, which Asterisk's user cannot enter) and hands each folder to its user; neither
process runs as root. Started by anyone else, everything runs as that one user, as on a
laptop and in the tests.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.asterisk.name_recording import names_folder
from bridge.errors import StartupError
from bridge.settings import Settings, make_private_dir

# Asterisk writes each recording; the service (the folder's group) lists, serves and deletes
# them. Setgid: every new recording takes the folder's group, whoever writes it.
RECORDINGS_DIR_MODE = 0o2770
RECORDING_MODE = 0o640
# What Asterisk makes under its own user: recordings readable by the group, the rest in its
# own 0700 folder.
ASTERISK_UMASK = 0o027


@dataclass(frozen=True)
class SystemUser:
    name: str
    uid: int
    gid: int

    @classmethod
    def named(cls, name: str, setting: str) -> SystemUser:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise StartupError(
                f"{setting}: there is no user {name!r} on this system "
                f"(create it: useradd --system --user-group {name})"
            ) from None
        if entry.pw_uid == 0:
            raise StartupError(f"{setting}: {name!r} is root; name an unprivileged user")
        return cls(name, entry.pw_uid, entry.pw_gid)

    def subprocess_options(self) -> dict[str, Any]:
        """For ``create_subprocess_exec``: the child runs as this user, its group alone."""
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


@dataclass(frozen=True)
class Owners:
    """Who runs what: Asterisk, and the service (whose group may read the recordings)."""

    asterisk: SystemUser
    service: SystemUser


def owners_of(settings: Settings) -> Owners | None:
    """The two users when root starts us with both named (IOBRIDGE_ASTERISK_USER,
    IOBRIDGE_SERVICE_USER); None otherwise: one user for everything."""
    if os.geteuid() != 0 or not (settings.asterisk_user or settings.service_user):
        return None
    if not (settings.asterisk_user and settings.service_user):
        unset = "IOBRIDGE_SERVICE_USER" if settings.asterisk_user else "IOBRIDGE_ASTERISK_USER"
        raise StartupError(f"{unset} is not set: name both users (Asterisk's, the service's)")
    for folder, setting in (
        (settings.asterisk_dir, "IOBRIDGE_ASTERISK_DIR"),
        (settings.recordings_dir, "IOBRIDGE_RECORDINGS_DIR"),
    ):
        if folder.is_relative_to(settings.state_dir):
            raise StartupError(
                f"{setting}: {folder} is inside the state folder {settings.state_dir}, which "
                f"Asterisk's user {settings.asterisk_user} cannot enter: give a folder outside it"
            )
    asterisk = SystemUser.named(settings.asterisk_user, "IOBRIDGE_ASTERISK_USER")
    service = SystemUser.named(settings.service_user, "IOBRIDGE_SERVICE_USER")
    if asterisk.uid == service.uid:
        raise StartupError(
            f"IOBRIDGE_ASTERISK_USER and IOBRIDGE_SERVICE_USER are one user ({asterisk.name}): "
            "Asterisk would read the database and the PIN key; name two users"
        )
    return Owners(asterisk, service)


def give_state_dir(settings: Settings, owners: Owners) -> None:
    """The state folder and all in it to the service's user: what root made there (the
    database, the secrets, a root shell's command) must be the service's."""
    _give_tree(settings.state_dir, owners.service.uid, owners.service.gid)


def give_asterisk_dirs(settings: Settings, owners: Owners) -> None:
    """Asterisk's folder to Asterisk's user; the recordings folder to Asterisk's user and the
    service's group, setgid, each recording readable by that group."""
    make_private_dir(settings.asterisk_dir)
    _give_tree(settings.asterisk_dir, owners.asterisk.uid, owners.asterisk.gid)
    names_folder(settings.recordings_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    _give_tree(
        settings.recordings_dir,
        owners.asterisk.uid,
        owners.service.gid,
        dir_mode=RECORDINGS_DIR_MODE,
        file_mode=RECORDING_MODE,
    )


def _give_tree(
    top: Path, uid: int, gid: int, dir_mode: int | None = None, file_mode: int | None = None
) -> None:
    """Owner (and modes) for ``top`` and everything in it. Root does this in folders an
    unprivileged user can write to, so nothing is followed: each entry is opened relative to
    its folder's descriptor without following a link, and changed through that descriptor."""
    for _, _, names, folder in os.fwalk(top, follow_symlinks=False):
        _give(folder, uid, gid, dir_mode)
        for name in names:
            try:
                fd = os.open(
                    name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY, dir_fd=folder
                )
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENXIO, errno.ENOENT):
                    continue  # a link (left alone), a socket, or gone since the listing
                raise
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    continue
                if info.st_nlink > 1:
                    raise StartupError(
                        f"{top}: {name} has more than one name (a hard link): io-bridge will "
                        "not hand it to another user; remove the extra name"
                    )
                _give(fd, uid, gid, file_mode)
            finally:
                os.close(fd)


def _give(fd: int, uid: int, gid: int, mode: int | None) -> None:
    info = os.fstat(fd)
    if (info.st_uid, info.st_gid) != (uid, gid):
        os.fchown(fd, uid, gid)
    if mode is not None and stat.S_IMODE(info.st_mode) != mode:
        os.fchmod(fd, mode)
