"""Find a system Asterisk, or build a private Asterisk 22 tree from Debian's packages.

Debian bookworm ships no Asterisk; sid does. The private tree is made without touching the
system's apt state: a private apt configuration resolves the package closure against an empty
status file, the .deb files are downloaded and checked against apt's checksums, unpacked with
``dpkg -x`` into one folder, and Asterisk runs through that folder's own dynamic loader.

Trust comes from Debian's signature, not from the network path: apt checks the archive's
InRelease against Debian's own keyring (``signed-by=``), the Packages index against the hashes
InRelease lists, and each .deb against the index. Any break in that chain stops the build.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bridge.asterisk.tree_check import TreeCheckError, tree_difference

PACKAGES = ("asterisk", "asterisk-modules", "asterisk-core-sounds-en-gsm")
# Debian's own archive keys (package debian-archive-keyring); bookworm's copy holds the
# bookworm and trixie automatic signing keys, which sign sid's InRelease as of 2026.
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
MIN_SYSTEM_MAJOR = 20
STRONG_HASHES = frozenset({"sha256", "sha512"})  # what a .deb may be checked by
TREE_FORMAT = 1  # bump when the tree's layout or contents change
LIB_DIRS = (
    "usr/lib/x86_64-linux-gnu",
    "lib/x86_64-linux-gnu",
    "usr/lib/x86_64-linux-gnu/asterisk",
)

Progress = Callable[[str], None]


class AsteriskInstallError(Exception):
    """A step of finding or building Asterisk failed; the message names the step."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"asterisk ensure failed at step '{step}': {reason}")
        self.step = step


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
    apt_opts = _private_apt(base, mirror, suite, keyring)
    _update_signed_lists(apt_opts, base / "apt" / "lists", keyring)
    listing = _run(
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
    _download_all(debs, debs_dir, progress)

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
        _run(f"unpack {deb.filename}", ["dpkg-deb", "-x", str(debs_dir / deb.filename), str(tree)])

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


def debian_mirror() -> str:
    """The Debian archive this machine's apt already uses (sid is fetched from the same one)."""
    candidates: list[str] = []
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        candidates += re.findall(r"^URIs:\s*(\S+)", path.read_text(), flags=re.M)
    sources_list = Path("/etc/apt/sources.list")
    if sources_list.exists():
        candidates += re.findall(
            r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", sources_list.read_text(), flags=re.M
        )
    for uri in candidates:
        if "security" not in uri and uri.rstrip("/").endswith("/debian"):
            return uri
    return "http://deb.debian.org/debian"


def _private_apt(base: Path, mirror: str, suite: str, keyring: Path) -> list[str]:
    apt = base / "apt"
    for sub in ("lists/partial", "cache/archives/partial"):
        (apt / sub).mkdir(parents=True, exist_ok=True)
    if not keyring.is_file():
        raise AsteriskInstallError(
            "verify archive signature",
            f"keyring {keyring} not found (Debian's package debian-archive-keyring provides it)",
        )
    (apt / "sources.list").write_text(f"deb [signed-by={keyring}] {mirror} {suite} main\n")
    status = apt / "status"
    status.touch()
    return [
        "-o", f"Dir::Etc::SourceList={apt / 'sources.list'}",
        "-o", "Dir::Etc::SourceParts=/dev/null",
        "-o", f"Dir::State::Lists={apt / 'lists'}",
        "-o", f"Dir::Cache={apt / 'cache'}",
        "-o", f"Dir::State::Status={status}",
        "-o", f"Dir::State::extended_states={apt / 'extended_states'}",
        "-o", "APT::Architecture=amd64",
        # The archive here is a dated snapshot: its Release reads as expired. The signature
        # is still checked; only the freshness date is not.
        "-o", "Acquire::Check-Valid-Until=false",
        # The system's apt.conf.d is still read (proxies); none of it may switch checks off.
        "-o", "Acquire::AllowInsecureRepositories=false",
        "-o", "Acquire::AllowDowngradeToInsecureRepositories=false",
        "-o", "APT::Get::AllowUnauthenticated=false",
        # --print-uris names MD5 unless told otherwise; the .debs are checked by SHA-256.
        "-o", "Acquire::ForceHash=SHA256",
        "-o", "Debug::NoLocking=1",
    ]  # fmt: skip


# apt-get update's complaints that mean the archive cannot be trusted, and the step they name.
_TRUST_FAILURES = (
    ("GPG error", "verify archive signature"),
    ("is not signed", "verify archive signature"),
    ("Hash Sum mismatch", "verify package lists"),
    ("File has unexpected size", "verify package lists"),
)


def _update_signed_lists(apt_opts: list[str], lists: Path, keyring: Path) -> None:
    """``apt-get update`` that fails closed: apt itself exits 0 when a signature check fails
    and an older index is at hand (it keeps using the old one), so start from no index and
    read its warnings."""
    shutil.rmtree(lists, ignore_errors=True)
    (lists / "partial").mkdir(parents=True)
    argv = ["apt-get", *apt_opts, "update", "-qq"]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AsteriskInstallError("download package lists", str(exc)) from exc
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    for marker, step in _TRUST_FAILURES:
        for line in lines:
            if marker in line:
                reason = line.removeprefix("W: ").removeprefix("E: ")
                raise AsteriskInstallError(step, f"{reason} (keyring {keyring})")
    for line in lines:
        if line.startswith(("W: Failed to fetch", "E: ")):
            raise AsteriskInstallError("download package lists", line.removeprefix("W: ").strip())
    if result.returncode != 0 or not any(lists.glob("*Release")):
        last = lines[-1] if lines else f"exit {result.returncode}, no Release file fetched"
        raise AsteriskInstallError("download package lists", last)


@dataclass(frozen=True)
class Deb:
    url: str
    filename: str  # as saved locally: the URL's last part, epoch colon unquoted away
    size: int
    algorithm: str
    digest: str


def parse_print_uris(listing: str) -> list[Deb]:
    """Parse ``apt-get --print-uris`` lines: 'URL' NAME SIZE ALGO:DIGEST.

    Every listed package must carry a SHA-256 or SHA-512 digest: a weaker or missing one
    would let a download through that the signed index does not pin."""
    debs = []
    for line in listing.splitlines():
        if not line.startswith("'"):
            continue  # apt's other chatter
        match = re.match(r"^'([^']+)'\s+(\S+)\s+(\d+)\s+(\w+):(\w+)", line.strip())
        algorithm = match.group(4).lower() if match else ""
        if match is None or algorithm not in STRONG_HASHES:
            raise AsteriskInstallError(
                "resolve packages", f"no SHA-256 digest listed for {line.split()[0]}"
            )
        url, _name, size, _algo, digest = match.groups()
        # apt names the file with the epoch ("asterisk_1%3a22..."); what we save drops it.
        filename = urllib.parse.unquote(url.rsplit("/", 1)[-1])
        filename = re.sub(r"_\d+:", "_", filename)
        debs.append(Deb(url, filename, int(size), algorithm, digest.lower()))
    return debs


def _download_all(debs: list[Deb], folder: Path, progress: Progress) -> None:
    done = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        futures = {pool.submit(_download, deb, folder): deb for deb in debs}
        for future in concurrent.futures.as_completed(futures):
            future.result()
            done += 1
            if done % 20 == 0 or done == len(debs):
                progress(f"      {done}/{len(debs)} downloaded")


def _download(deb: Deb, folder: Path) -> None:
    target = folder / deb.filename
    if target.exists() and _digest(target, deb.algorithm) == deb.digest:
        return
    partial = target.with_suffix(".part")
    try:
        with urllib.request.urlopen(deb.url, timeout=60) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:
        raise AsteriskInstallError(f"download {deb.filename}", f"{deb.url}: {exc}") from exc
    got = _digest(partial, deb.algorithm)
    if got != deb.digest:
        partial.unlink()
        raise AsteriskInstallError(
            f"download {deb.filename}",
            f"{deb.algorithm} mismatch (expected {deb.digest}, got {got})",
        )
    partial.rename(target)


def _digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _run(step: str, argv: list[str]) -> str:
    return _run_full(step, argv).stdout


def _run_full(step: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AsteriskInstallError(step, str(exc)) from exc
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise AsteriskInstallError(step, last[-1] if last else f"exit {result.returncode}")
    return result
