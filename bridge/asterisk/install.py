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
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bridge.asterisk.debian_archive import (
    DEBIAN_KEYRING,
    AsteriskInstallError,
    Deb,
    Progress,
    debian_mirror,
    download_all,
    parse_print_uris,
    private_apt,
    run,
    update_signed_lists,
)
from bridge.asterisk.tree_check import TreeCheckError, tree_difference
from bridge.asterisk.tree_swap import NEXT, staged, swap_in_staged

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
LOADER = "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"  # amd64 only, as the packages
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
    refresh: bool = False,
) -> AsteriskInstall:
    """Return a usable Asterisk, building the private tree only when nothing else will do.
    ``refresh``: stage the archive's newest build of the private tree (see
    ``build_private_tree``); a system Asterisk is the system's package manager's to update."""
    if binary is not None:
        found = _probe(binary, root=Path("/"))
        if found is None:
            raise AsteriskInstallError("probe", f"{binary} does not run as an Asterisk")
        if refresh:
            progress(f"      {binary} (IOBRIDGE_ASTERISK_BINARY) is yours to update, not here")
        return found
    if prefer_system:
        system = find_system_asterisk()
        if system is not None:
            progress(f"using the system Asterisk {system.version} at {system.binary}")
            if refresh:
                progress("      it is updated with the system's packages (apt), not here")
            return system
    return build_private_tree(
        cache_dir / "asterisk",
        mirror=mirror,
        suite=suite,
        keyring=keyring,
        progress=progress,
        refresh=refresh,
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
    packages: tuple[str, ...]  # the .deb files it was unpacked from ("" for older stamps)


def _built_tree(base: Path) -> BuiltTree | None:
    stamp = base / "complete.json"
    if not stamp.exists():
        return None
    try:
        info = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return None
    if info.get("format") != TREE_FORMAT:
        return None
    tree = base / "tree"
    binary = tree / "usr/sbin/asterisk"
    loader = tree / LOADER
    if not (binary.exists() and loader.exists()):
        return None
    install = AsteriskInstall(tree, binary, loader, version=str(info["version"]), private=True)
    packages = tuple(str(name) for name in info.get("packages", ()))
    return BuiltTree(install, verified=bool(info.get("verified")), packages=packages)


def _write_stamp(
    base: Path, version: str, source: str, keyring: Path, packages: list[str] | None = None
) -> None:
    # Same format number as before signatures were checked, so that older checkouts sharing
    # this cache still accept the tree; "verified" is what newer ones look for.
    stamp: dict[str, object] = {"format": TREE_FORMAT, "version": version,
             "verified": {"archive": source, "signed_by": str(keyring)}}  # fmt: skip
    if packages is not None:
        stamp["packages"] = sorted(packages)  # what --refresh compares the archive with
    temporary = base / "complete.json.tmp"
    temporary.write_text(json.dumps(stamp))
    temporary.replace(base / "complete.json")


@contextlib.contextmanager
def _exclusive(base: Path, progress: Progress) -> Iterator[None]:
    """One builder at a time per cache folder (test sessions and stacks share it). Only
    taken to build, check or swap the tree: a complete, verified tree is used without it,
    so a user who may read the cache but not write it (a container's runtime user, the
    image having built it as root) runs it all the same."""
    try:
        base.mkdir(parents=True, exist_ok=True)
        handle = (base / ".lock").open("a")
    except PermissionError as exc:
        raise AsteriskInstallError(
            "lock the cache",
            f"{exc.filename}: permission denied: the private Asterisk in {base} is not "
            f"complete (or an update is waiting there) and this user ({_user()}) may not "
            f"write there; build it as this user (iobridge asterisk ensure), or point "
            f"IOBRIDGE_CACHE_DIR at a folder this user owns",
        ) from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"waiting for another process building the private Asterisk in {base}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def build_private_tree(
    base: Path,
    *,
    mirror: str | None,
    suite: str,
    keyring: Path = DEBIAN_KEYRING,
    progress: Progress = print,
    refresh: bool = False,
) -> AsteriskInstall:
    """The private tree, built if need be. ``refresh``: also fetch the archive's newest
    build and stage it beside the tree; whichever start next finds nothing running the
    tree swaps it in (``bridge.asterisk.tree_swap``)."""
    if not refresh and not staged(base):
        built = _built_tree(base)
        if built is not None and built.verified:
            progress(f"private Asterisk {built.install.version} ready at {built.install.root}")
            return built.install
    with _exclusive(base, progress):
        if swap_in_staged(base, progress) and not refresh:
            built = _built_tree(base)
            if built is not None:
                return built.install
        current = _built_tree(base)
        if refresh and current is not None and current.verified:
            _stage_newest(base, current, mirror or debian_mirror(), suite, keyring, progress)
            return current.install
        return _build_private_tree(base, mirror or debian_mirror(), suite, keyring, progress)


def _resolve(base: Path, mirror: str, suite: str, keyring: Path, progress: Progress) -> list[Deb]:
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
    return debs


def _download(base: Path, debs: list[Deb], progress: Progress) -> Path:
    total = sum(d.size for d in debs)
    progress(f"[2/5] downloading {len(debs)} packages ({total / 2**20:.0f} MiB)")
    debs_dir = base / "debs"
    debs_dir.mkdir(exist_ok=True)
    download_all(debs, debs_dir, progress)
    return debs_dir


def _debian_version(debs: list[Deb]) -> str | None:
    """The asterisk package's version as its file names it (what ``asterisk -V`` prints)."""
    for deb in debs:
        name, _, rest = deb.filename.partition("_")
        if name == "asterisk":
            return rest.rsplit("_", 1)[0]
    return None


def _stage_newest(
    base: Path, current: BuiltTree, mirror: str, suite: str, keyring: Path, progress: Progress
) -> None:
    debs = _resolve(base, mirror, suite, keyring, progress)
    names = sorted(deb.filename for deb in debs)
    same = list(current.packages) == names if current.packages else (
        _debian_version(debs) == current.install.version
    )  # fmt: skip
    if same:
        progress(f"private Asterisk {current.install.version} is the newest build in {suite}")
        return
    debs_dir = _download(base, debs, progress)
    target = base / NEXT
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    found = _unpack(target, debs, debs_dir, f"{mirror} {suite}", keyring, progress)
    progress(
        f"Asterisk {found.version} is ready beside {current.install.version}: it replaces it "
        "at the next start that finds no Asterisk running it (iobridge up, or "
        "systemctl restart iobridge-asterisk)"
    )


def _build_private_tree(
    base: Path, mirror: str, suite: str, keyring: Path, progress: Progress
) -> AsteriskInstall:
    built = _built_tree(base)
    if built is not None and built.verified:
        progress(f"private Asterisk {built.install.version} ready at {built.install.root}")
        return built.install
    source = f"{mirror} {suite}"
    debs = _resolve(base, mirror, suite, keyring, progress)
    debs_dir = _download(base, debs, progress)

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
            names = [deb.filename for deb in debs]
            _write_stamp(base, built.install.version, source, keyring, names)
            shutil.rmtree(debs_dir, ignore_errors=True)
            progress(f"private Asterisk {built.install.version} verified, kept at {tree}")
            return built.install
        progress(f"      it differs ({difference}): rebuilding it")
    return _unpack(base, debs, debs_dir, source, keyring, progress)


def _unpack(
    base: Path, debs: list[Deb], debs_dir: Path, source: str, keyring: Path, progress: Progress
) -> AsteriskInstall:
    """Unpack ``debs`` into ``base``/tree, check it runs, and stamp it complete."""
    tree = base / "tree"
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
    found = _probe(binary, root=tree, loader=tree / LOADER)
    if found is None:
        raise AsteriskInstallError("check", f"{binary} did not print its version")
    _write_stamp(base, found.version, source, keyring, [deb.filename for deb in debs])
    shutil.rmtree(debs_dir, ignore_errors=True)
    progress(f"private Asterisk {found.version} ready at {tree}")
    return found
