"""Asterisk's packages from Debian's archive, trusted only through Debian's signature.

A private apt configuration (its own sources list, lists, cache and an empty status file;
the system's apt state is untouched) whose sources line names Debian's keyring
(``signed-by=``): apt checks the archive's InRelease against that keyring and the Packages
index against the hashes InRelease lists; each .deb is then checked here against the index's
SHA-256. Any break in that chain is an ``AsteriskInstallError`` naming the step.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Debian's own archive keys (package debian-archive-keyring); bookworm's copy holds the
# bookworm and trixie automatic signing keys, which sign sid's InRelease as of 2026.
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
STRONG_HASHES = frozenset({"sha256", "sha512"})  # what a .deb may be checked by

Progress = Callable[[str], None]


class AsteriskInstallError(Exception):
    """A step of finding or building Asterisk failed; the message names the step."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"asterisk ensure failed at step '{step}': {reason}")
        self.step = step


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


def private_apt(base: Path, mirror: str, suite: str, keyring: Path) -> list[str]:
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


def update_signed_lists(apt_opts: list[str], lists: Path, keyring: Path) -> None:
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


def download_all(debs: list[Deb], folder: Path, progress: Progress) -> None:
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


def run(step: str, argv: list[str]) -> str:
    return run_full(step, argv).stdout


def run_full(step: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AsteriskInstallError(step, str(exc)) from exc
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise AsteriskInstallError(step, last[-1] if last else f"exit {result.returncode}")
    return result
