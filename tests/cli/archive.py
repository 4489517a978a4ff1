"""A miniature Debian archive for testing the private install's trust chain, offline.

Three tiny packages named like the real ones, a Packages index, a Release file signed by a
throwaway key (InRelease), served over HTTP on loopback. Tests break one link of the chain
(the key, the signature, the index) and expect the install to stop at the step that broke.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from bridge.asterisk.install import PACKAGES

VERSION = "22.0-1"
PACKAGE_DATE = "Mon, 02 Nov 2026 10:00:00 +0000"  # the changelog's last entry
LOADER = "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"

# What each fake package holds: enough for the install to find a binary and a loader.
PACKAGE_FILES = {
    "asterisk": {"usr/sbin/asterisk": b"#!/bin/false\n", "etc/asterisk/asterisk.conf": b";\n"},
    "asterisk-modules": {
        "usr/lib/x86_64-linux-gnu/asterisk/modules/app_confbridge.so": b"\x7fELF module\n",
        "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": b"\x7fELF loader\n",
    },
    "asterisk-core-sounds-en-gsm": {
        "usr/share/asterisk/sounds/en_US_f_Allison/conf-getpin.gsm": b"gsm\n",
    },
}


@dataclass
class LocalArchive:
    root: Path  # served at url
    url: str
    keyring: Path  # holds the key that signed InRelease
    other_keyring: Path  # a valid keyring without that key
    debs: list[Path]
    signer: Path  # the signing key's gpg home (removed when served() ends)
    runnable: bool = False

    def publish(self, version: str) -> None:
        """A newer build appears in the archive: new packages, index, signed Release."""
        self.debs = _publish(self.root, self.signer, version, self.runnable)

    @property
    def dists(self) -> Path:
        return self.root / "dists" / "sid"

    def tamper_release(self) -> None:
        """Change a signed line of InRelease after signing."""
        path = self.dists / "InRelease"
        path.write_text(path.read_text().replace("Origin: io-bridge-test", "Origin: evil"))

    def unsign(self) -> None:
        """Serve the Release file without any signature."""
        (self.dists / "InRelease").unlink()

    def tamper_index(self) -> None:
        """Change the Packages index that the signed Release lists by hash."""
        path = self.dists / "main" / "binary-amd64" / "Packages"
        path.write_text(path.read_text().replace("Priority: optional", "Priority: required"))


def _gpg(home: Path, *args: str, input_text: str | None = None) -> str:
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--quiet", *args],
        input=input_text, capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip


def _make_key(home: Path, name: str, keyring: Path) -> None:
    home.mkdir(mode=0o700)
    _gpg(home, "--passphrase", "", "--quick-gen-key", name, "ed25519", "sign", "never")
    subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--export", "--output", str(keyring)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    keyring.chmod(0o644)


def _files(package: str, version: str, runnable: bool) -> dict[str, bytes]:
    """The package's files; ``runnable``: its loader is a script that answers ``-V`` as
    Asterisk does, so that the install gets past its last check."""
    files = dict(PACKAGE_FILES[package])
    if package == "asterisk":
        changelog = f"asterisk (1:{version}) unstable; urgency=medium\n\n  * test\n\n"
        changelog += f" -- io-bridge tests <tests@example.invalid>  {PACKAGE_DATE}\n"
        files["usr/share/doc/asterisk/changelog.Debian.gz"] = gzip.compress(changelog.encode())
    if runnable and package == "asterisk-modules":
        files[LOADER] = f"#!/bin/sh\necho 'Asterisk {version} built by tests'\n".encode()
    return files


def _build_deb(work: Path, package: str, version: str, runnable: bool) -> Path:
    source = work / f"src-{package}-{version}"
    for relative, content in _files(package, version, runnable).items():
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_bytes(content)
        if content.startswith(b"#!"):
            (source / relative).chmod(0o755)
    (source / "DEBIAN").mkdir(parents=True)
    (source / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 1:{version}\nArchitecture: amd64\n"
        "Maintainer: io-bridge tests <tests@example.invalid>\nDescription: test package\n"
    )
    deb = work / "pool" / f"{package}_{version}_amd64.deb"
    deb.parent.mkdir(exist_ok=True)
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(source), str(deb)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return deb


def _index_entry(package: str, deb: Path, root: Path, version: str) -> str:
    data = deb.read_bytes()
    return (
        f"Package: {package}\nVersion: 1:{version}\nArchitecture: amd64\nPriority: optional\n"
        "Maintainer: io-bridge tests <tests@example.invalid>\n"
        f"Filename: {deb.relative_to(root)}\nSize: {len(data)}\n"
        f"SHA256: {hashlib.sha256(data).hexdigest()}\nDescription: test package\n"
    )


def build_archive(folder: Path, version: str = VERSION, *, runnable: bool = False) -> LocalArchive:
    # apt reads the keyring as its unprivileged _apt user: keep it out of pytest's 0700 tmp.
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    root = folder / "debian"
    root.mkdir()
    keyring, other = folder / "archive-key.gpg", folder / "other-key.gpg"
    # gpg-agent's socket lives in its home, and a socket path must fit in 108 bytes: under
    # pytest-xdist's deeper temp folders it did not. The homes go in a short folder instead.
    homes = Path(tempfile.mkdtemp(prefix="iob-gpg-"))
    signer, stranger = homes / "archive", homes / "other"
    _make_key(signer, "io-bridge test archive", keyring)
    _make_key(stranger, "someone else", other)
    subprocess.run(["gpgconf", "--homedir", str(stranger), "--kill", "gpg-agent"], timeout=30)
    debs = _publish(root, signer, version, runnable)
    return LocalArchive(root, "", keyring, other, debs, signer, runnable)


def _publish(root: Path, signer: Path, version: str, runnable: bool) -> list[Path]:
    debs = [_build_deb(root, p, version, runnable) for p in PACKAGES]
    entries = (_index_entry(p, d, root, version) for p, d in zip(PACKAGES, debs, strict=True))
    index = root / "dists" / "sid" / "main" / "binary-amd64" / "Packages"
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_text("\n".join(entries))
    digest = hashlib.sha256(index.read_bytes()).hexdigest()
    release = (
        "Origin: io-bridge-test\nLabel: io-bridge-test\nSuite: unstable\nCodename: sid\n"
        f"Date: {formatdate(usegmt=True)}\nArchitectures: amd64\nComponents: main\n"
        f"SHA256:\n {digest} {index.stat().st_size} main/binary-amd64/Packages\n"
    )
    dists = root / "dists" / "sid"
    (dists / "Release").write_text(release)
    (dists / "InRelease").write_text(_gpg(signer, "--clearsign", input_text=release))
    for dirpath, _dirs, _files in os.walk(root):
        Path(dirpath).chmod(0o755)
    # gpg left an agent running
    subprocess.run(["gpgconf", "--homedir", str(signer), "--kill", "gpg-agent"], timeout=30)
    return debs


@contextmanager
def served(archive: LocalArchive) -> Iterator[LocalArchive]:
    """Serve the archive over HTTP on loopback while the block runs."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(archive.root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    archive.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield archive
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(archive.signer.parent, ignore_errors=True)
