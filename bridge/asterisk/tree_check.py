"""Compare an unpacked Asterisk tree with the .deb files it should have come from.

A tree built before the archive's signature was checked is kept only if it is exactly what
the signed packages unpack to: same files with the same contents, same links, nothing more
(an extra module in the module folder would be loaded by ``autoload=yes``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
from pathlib import Path
from typing import IO

# What the build adds to the unpacked packages (see install.build_private_tree).
ADDED_BY_BUILD = frozenset({"usr/share/asterisk/sounds/en"})


class TreeCheckError(Exception):
    """A package could not be read; the message names it."""


def tree_difference(tree: Path, debs: list[Path]) -> str | None:
    """The first way ``tree`` differs from what ``debs`` unpack to, or None when it matches."""
    expected: set[str] = set(ADDED_BY_BUILD)
    digests: dict[str, str] = {}
    for deb in debs:
        with subprocess.Popen(
            ["dpkg-deb", "--fsys-tarfile", str(deb)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        ) as proc:
            assert proc.stdout is not None
            try:
                difference = _compare_members(tree, deb.name, proc.stdout, expected, digests)
            except tarfile.TarError as exc:
                proc.kill()
                raise TreeCheckError(f"{deb.name}: {exc}") from exc
            if difference is not None:
                proc.kill()
                return difference
            proc.stdout.read()  # the archive's end padding, so that dpkg-deb exits
        if proc.returncode != 0:
            raise TreeCheckError(f"dpkg-deb could not read {deb.name} (exit {proc.returncode})")
    for folder, dirs, files in os.walk(tree):
        for name in [*dirs, *files]:
            relative = os.path.relpath(os.path.join(folder, name), tree)
            if relative not in expected:
                return f"{relative} is in no package"
    return None


def _compare_members(
    tree: Path, deb_name: str, stream: IO[bytes], expected: set[str], digests: dict[str, str]
) -> str | None:
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            relative = os.path.normpath(member.name)
            if relative == ".":
                continue
            expected.add(relative)
            path = tree / relative
            if member.isdir():
                same = path.is_dir() and not path.is_symlink()
            elif member.issym():
                same = path.is_symlink() and os.readlink(path) == member.linkname
            elif member.isfile():
                content = archive.extractfile(member)
                assert content is not None
                digests[relative] = _digest(content)
                same = _is_plain_file(path) and _file_digest(path) == digests[relative]
            elif member.islnk():
                target = digests.get(os.path.normpath(member.linkname))
                same = _is_plain_file(path) and _file_digest(path) == target
            else:
                continue  # devices and fifos: Debian's Asterisk packages ship none
            if not same:
                return f"{relative} differs from {deb_name}"
    return None


def _is_plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _digest(handle: IO[bytes]) -> str:
    hasher = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        hasher.update(chunk)
    return hasher.hexdigest()


def _file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return _digest(handle)
