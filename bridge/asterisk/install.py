"""Find a system Asterisk, or build a private Asterisk 22 tree from Debian's packages.

Debian bookworm ships no Asterisk; sid does. The private tree is made without touching the
system's apt state: a private apt configuration resolves the package closure against an empty
status file, the .deb files are downloaded and checked against apt's checksums, unpacked with
``dpkg -x`` into one folder, and Asterisk runs through that folder's own dynamic loader.

Trust comes from Debian's signature, not from the network path: how the packages are
resolved, fetched and checked is ``bridge.asterisk.debian_archive``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bridge.asterisk.debian_archive import (
    DEBIAN_KEYRING,
    AsteriskInstallError,
    Progress,
    debian_mirror,
    download_all,
    parse_print_uris,
    private_apt,
    run,
    update_signed_lists,
)
from bridge.asterisk.tree_check import TreeCheckError, tree_difference

__all__ = [
    "PACKAGES",
    "AsteriskInstall",
    "AsteriskInstallError",
    "build_private_tree",
    "ensure_asterisk",
    "find_system_asterisk",
]

PACKAGES = ("asterisk", "asterisk-modules", "asterisk-core-sounds-en-gsm")
MIN_SYSTEM_MAJOR = 20
TREE_FORMAT = 1  # bump when the tree's layout or contents change
LIB_DIRS = (
    "usr/lib/x86_64-linux-gnu",
    "lib/x86_64-linux-gnu",
    "usr/lib/x86_64-linux-gnu/asterisk",
)


@dataclass(frozen=True)
class AsteriskInstall:
    """Where an Asterisk lives and how to start its binary."""

    root: Path  # "/" for a system install, the tree for a private one
    binary: Path
    loader: Path | None  # the private tree's own ld.so, None for a system install
    version: str
    private: bool

    @property
    def module_dir(self) -> Path:
        # Debian puts modules under the multiarch folder; source builds under usr/lib(64).
        patterns = ("usr/lib/*-linux-gnu*/asterisk/modules", "usr/lib/asterisk/modules",
                    "usr/lib64/asterisk/modules")  # fmt: skip
        for pattern in patterns:
            for path in sorted(self.root.glob(pattern)):
                if path.is_dir():
                    return path
        raise AsteriskInstallError("locate modules", f"no Asterisk module folder under {self.root}")

    @property
    def data_dir(self) -> Path:
        return self.root / "usr/share/asterisk"

    def command(self, *args: str) -> list[str]:
        """The argv that runs this Asterisk with ``args``."""
        if self.loader is None:
            return [str(self.binary), *args]
        library_path = ":".join(str(self.root / d) for d in LIB_DIRS)
        return [str(self.loader), "--library-path", library_path, str(self.binary), *args]


def ensure_asterisk(
    cache_dir: Path,
    *,
    mirror: str | None = None,
    suite: str = "sid",
    keyring: Path = DEBIAN_KEYRING,
    binary: Path | None = None,
    prefer_system: bool = True,
    progress: Progress = print,
) -> AsteriskInstall:
    """Return a usable Asterisk, building the private tree only when nothing else will do."""
    if binary is not None:
        found = _probe(binary, root=Path("/"))
        if found is None:
            raise AsteriskInstallError("probe", f"{binary} does not run as an Asterisk")
        return found
    if prefer_system:
        system = find_system_asterisk()
        if system is not None:
            progress(f"using the system Asterisk {system.version} at {system.binary}")
            return system
    return build_private_tree(
        cache_dir / "asterisk", mirror=mirror, suite=suite, keyring=keyring, progress=progress
    )


def find_system_asterisk() -> AsteriskInstall | None:
    path = shutil.which("asterisk") or (
        "/usr/sbin/asterisk" if Path("/usr/sbin/asterisk").exists() else None
    )
    if path is None:
        return None
    found = _probe(Path(path), root=Path("/"))
    if found is None or _major(found.version) < MIN_SYSTEM_MAJOR:
        return None
    return found


def _major(version: str) -> int:
    match = re.match(r"(\d+)", version)
    return int(match.group(1)) if match else 0


def _probe(binary: Path, root: Path, loader: Path | None = None) -> AsteriskInstall | None:
    candidate = AsteriskInstall(root, binary, loader, version="", private=loader is not None)
    try:
        out = subprocess.run(
            candidate.command("-V"), capture_output=True, text=True, timeout=15, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"Asterisk\s+(\S+)", out)
    if match is None:
        return None
    return AsteriskInstall(root, binary, loader, version=match.group(1), private=loader is not None)


@dataclass(frozen=True)
class BuiltTree:
    install: AsteriskInstall
    verified: bool  # built from, or checked against, packages whose signature apt verified


def _built_tree(base: Path) -> BuiltTree | None:
    stamp = base / "complete.json"
    if not stamp.exists():
        return None
    try:
        info = json.loads(stamp.read_text())
    except ValueError:
        return None
    if info.get("format") != TREE_FORMAT:
        return None
    tree = base / "tree"
    binary = tree / "usr/sbin/asterisk"
    loader = tree / "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    if not (binary.exists() and loader.exists()):
        return None
    install = AsteriskInstall(tree, binary, loader, version=str(info["version"]), private=True)
    return BuiltTree(install, verified=bool(info.get("verified")))


def _write_stamp(base: Path, version: str, source: str, keyring: Path) -> None:
    # Same format number as before signatures were checked, so that older checkouts sharing
    # this cache still accept the tree; "verified" is what newer ones look for.
    stamp = {"format": TREE_FORMAT, "version": version,
             "verified": {"archive": source, "signed_by": str(keyring)}}  # fmt: skip
    (base / "complete.json").write_text(json.dumps(stamp))


@contextlib.contextmanager
def _exclusive(base: Path, progress: Progress) -> Iterator[None]:
    """One builder at a time per cache folder (test sessions and stacks share it)."""
    base.mkdir(parents=True, exist_ok=True)
    with (base / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"waiting for another process building the private Asterisk in {base}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def build_private_tree(
    base: Path,
    *,
    mirror: str | None,
    suite: str,
    keyring: Path = DEBIAN_KEYRING,
    progress: Progress = print,
) -> AsteriskInstall:
    with _exclusive(base, progress):
        return _build_private_tree(base, mirror or debian_mirror(), suite, keyring, progress)


def _build_private_tree(
    base: Path, mirror: str, suite: str, keyring: Path, progress: Progress
) -> AsteriskInstall:
    built = _built_tree(base)
    if built is not None and built.verified:
        progress(f"private Asterisk {built.install.version} ready at {built.install.root}")
        return built.install
    source = f"{mirror} {suite}"

    progress(f"[1/5] resolving {', '.join(PACKAGES)} in Debian {suite} ({mirror})")
    apt_opts = private_apt(base, mirror, suite, keyring)
    update_signed_lists(apt_opts, base / "apt" / "lists", keyring)
    listing = run(
        "resolve packages",
        [
            "apt-get",
            *apt_opts,
            "install",
            "--print-uris",
            "-y",
            "-qq",
            "--no-install-recommends",
            *PACKAGES,
        ],
    )
    debs = parse_print_uris(listing)
    if not debs:
        raise AsteriskInstallError("resolve packages", "apt listed no packages to download")
    total = sum(d.size for d in debs)
    progress(f"[2/5] downloading {len(debs)} packages ({total / 2**20:.0f} MiB)")
    debs_dir = base / "debs"
    debs_dir.mkdir(exist_ok=True)
    download_all(debs, debs_dir, progress)

    tree = base / "tree"
    if built is not None:
        # A tree from before signatures were checked: keep it (running Asterisks use it)
        # if it is exactly what the signed packages unpack to.
        progress("      checking the existing tree (built unverified) against the signed packages")
        try:
            difference = tree_difference(tree, [debs_dir / deb.filename for deb in debs])
        except TreeCheckError as exc:
            raise AsteriskInstallError("check existing tree", str(exc)) from exc
        if difference is None:
            _write_stamp(base, built.install.version, source, keyring)
            shutil.rmtree(debs_dir, ignore_errors=True)
            progress(f"private Asterisk {built.install.version} verified, kept at {tree}")
            return built.install
        progress(f"      it differs ({difference}): rebuilding it")

    progress(f"[3/5] unpacking {len(debs)} packages")
    (base / "complete.json").unlink(missing_ok=True)
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir()
    for deb in debs:
        run(f"unpack {deb.filename}", ["dpkg-deb", "-x", str(debs_dir / deb.filename), str(tree)])

    progress("[4/5] finishing the tree (sounds link)")
    sounds = tree / "usr/share/asterisk/sounds"
    en = sounds / "en"
    if not en.exists() and (sounds / "en_US_f_Allison").is_dir():
        en.symlink_to("en_US_f_Allison")

    progress("[5/5] checking that the private Asterisk runs")
    binary = tree / "usr/sbin/asterisk"
    loader = tree / "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    found = _probe(binary, root=tree, loader=loader)
    if found is None:
        raise AsteriskInstallError("check", f"{binary} did not print its version")
    _write_stamp(base, found.version, source, keyring)
    shutil.rmtree(debs_dir, ignore_errors=True)
    progress(f"private Asterisk {found.version} ready at {tree}")
    return found
