"""`iobridge asterisk ensure`: idempotent, one clear line naming the failed step, and no
Asterisk from an archive whose signature, index or packages do not check out."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bridge.asterisk.debian_archive import AsteriskInstallError, parse_print_uris
from bridge.asterisk.install import ensure_asterisk
from bridge.asterisk.release import record_started, running_asterisk
from bridge.cli import main
from bridge.settings import Settings
from tests.cli.archive import PACKAGE_FILES, LocalArchive, build_archive, served
from tests.support import free_port


def test_an_unreachable_archive_fails_naming_the_step(tmp_path: Path) -> None:
    env = {
        "IOBRIDGE_CACHE_DIR": str(tmp_path / "cache"),
        "IOBRIDGE_ASTERISK_PREFER_SYSTEM": "false",
        "IOBRIDGE_DEBIAN_MIRROR": f"http://127.0.0.1:{free_port()}/debian",
    }
    result = CliRunner().invoke(main, ["asterisk", "ensure"], env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "iobridge: asterisk ensure failed at step 'download package lists': Failed to fetch"
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.mark.pbx
def test_a_second_ensure_reuses_the_tree(tmp_path: Path) -> None:
    # The session's Asterisk is already in the default cache: this run must only check it.
    result = CliRunner().invoke(main, ["asterisk", "ensure"])
    assert result.exit_code == 0, result.output
    assert "Asterisk 2" in result.stdout
    assert "[2/5] downloading" not in result.stdout


def test_apt_listings_keep_checksums_and_drop_the_epoch_from_file_names() -> None:
    listing = (
        "'http://deb.debian.org/debian/pool/main/a/asterisk/asterisk_1%3a22.10.1-1_amd64.deb' "
        "asterisk_1%3a22.10.1-1_amd64.deb 1834 SHA256:ABCDEF0123\n"
        "'http://deb.debian.org/debian/pool/main/libs/libsrtp2-1_2.5.0-3_amd64.deb' "
        "libsrtp2-1_2.5.0-3_amd64.deb 55000 SHA256:00ff\n"
        "some other apt chatter\n"
    )
    debs = parse_print_uris(listing)
    assert [d.filename for d in debs] == [
        "asterisk_22.10.1-1_amd64.deb",
        "libsrtp2-1_2.5.0-3_amd64.deb",
    ]
    assert (debs[0].algorithm, debs[0].digest, debs[0].size) == ("sha256", "abcdef0123", 1834)


# ---- the trust chain: Debian's signature, the index's hashes, the tree -----------------


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[LocalArchive]:
    with served(build_archive(tmp_path / "archive")) as running:
        yield running


def ensure(archive: LocalArchive, cache: Path, keyring: Path | None = None) -> Result:
    env = {
        "IOBRIDGE_CACHE_DIR": str(cache),
        "IOBRIDGE_ASTERISK_PREFER_SYSTEM": "false",
        "IOBRIDGE_DEBIAN_MIRROR": archive.url,
        "IOBRIDGE_DEBIAN_KEYRING": str(keyring or archive.keyring),
    }
    return CliRunner().invoke(main, ["asterisk", "ensure"], env=env)


def failed_step(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output
    return result.stderr.split("'")[1]


def test_a_correctly_signed_archive_passes_every_check_up_to_running_the_binary(
    archive: LocalArchive, tmp_path: Path
) -> None:
    # The test packages hold no real Asterisk: reaching the last step proves the chain held.
    result = ensure(archive, tmp_path / "cache")
    assert failed_step(result) == "check"
    assert "[3/5] unpacking 3 packages" in result.stdout


def test_an_archive_signed_by_a_key_outside_the_keyring_stops_the_install(
    archive: LocalArchive, tmp_path: Path
) -> None:
    result = ensure(archive, tmp_path / "cache", keyring=archive.other_keyring)
    assert failed_step(result) == "verify archive signature"
    assert "NO_PUBKEY" in result.stderr
    assert "[2/5] downloading" not in result.stdout


def test_a_release_changed_after_signing_stops_the_install(
    archive: LocalArchive, tmp_path: Path
) -> None:
    archive.tamper_release()
    result = ensure(archive, tmp_path / "cache")
    assert failed_step(result) == "verify archive signature"
    assert "BADSIG" in result.stderr


def test_an_unsigned_archive_stops_the_install(archive: LocalArchive, tmp_path: Path) -> None:
    archive.unsign()
    result = ensure(archive, tmp_path / "cache")
    assert failed_step(result) == "verify archive signature"
    assert "is not signed" in result.stderr


def test_an_index_that_does_not_match_the_signed_release_stops_the_install(
    archive: LocalArchive, tmp_path: Path
) -> None:
    archive.tamper_index()
    result = ensure(archive, tmp_path / "cache")
    assert failed_step(result) in ("verify package lists", "download package lists")
    assert "Hash Sum mismatch" in result.stderr or "unexpected size" in result.stderr


def test_index_files_from_an_earlier_run_do_not_cover_a_failed_signature_check(
    archive: LocalArchive, tmp_path: Path
) -> None:
    # apt itself keeps using the old index when a new InRelease fails to verify, and exits 0.
    cache = tmp_path / "cache"
    assert failed_step(ensure(archive, cache)) == "check"
    archive.tamper_release()
    assert failed_step(ensure(archive, cache)) == "verify archive signature"


def unpack_as_an_unverified_build(archive: LocalArchive, cache: Path) -> Path:
    """What an install from before signature checks left behind: a tree and its stamp."""
    tree = cache / "asterisk" / "tree"
    tree.mkdir(parents=True)
    for deb in archive.debs:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    (tree / "usr/share/asterisk/sounds/en").symlink_to("en_US_f_Allison")
    (cache / "asterisk" / "complete.json").write_text('{"format": 1, "version": "22.0-old"}')
    return tree


MODULE = "usr/lib/x86_64-linux-gnu/asterisk/modules/app_confbridge.so"


def test_a_tree_built_before_signature_checks_is_kept_when_the_signed_packages_match_it(
    archive: LocalArchive, tmp_path: Path
) -> None:
    tree = unpack_as_an_unverified_build(archive, tmp_path / "cache")
    inode = (tree / MODULE).stat().st_ino
    result = ensure(archive, tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert "verified, kept at" in result.stdout
    assert "[3/5] unpacking" not in result.stdout
    assert (tree / MODULE).stat().st_ino == inode  # not replaced under a running Asterisk
    stamp = json.loads((tmp_path / "cache" / "asterisk" / "complete.json").read_text())
    assert stamp["format"] == 1  # older checkouts sharing the cache still accept it
    assert stamp["verified"]["signed_by"] == str(archive.keyring)


def test_a_verified_tree_is_not_checked_again_nor_rebuilt(
    archive: LocalArchive, tmp_path: Path
) -> None:
    unpack_as_an_unverified_build(archive, tmp_path / "cache")
    assert ensure(archive, tmp_path / "cache").exit_code == 0
    archive.unsign()  # the network is not consulted again
    result = ensure(archive, tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert "ready at" in result.stdout
    assert "[1/5]" not in result.stdout


@pytest.mark.parametrize("change", ["altered module", "extra module"])
def test_a_tree_built_before_signature_checks_that_differs_from_the_packages_is_rebuilt(
    archive: LocalArchive, tmp_path: Path, change: str
) -> None:
    tree = unpack_as_an_unverified_build(archive, tmp_path / "cache")
    if change == "altered module":
        (tree / MODULE).write_bytes(b"\x7fELF planted\n")
    else:
        (tree / MODULE).with_name("res_planted.so").write_bytes(b"\x7fELF planted\n")
    result = ensure(archive, tmp_path / "cache")
    assert "rebuilding it" in result.stdout
    assert failed_step(result) == "check"  # rebuilt from the packages, then the fake binary
    assert (tree / MODULE).read_bytes() == PACKAGE_FILES["asterisk-modules"][MODULE]
    assert not (tree / MODULE).with_name("res_planted.so").exists()


def test_apt_listings_without_a_sha256_digest_are_refused() -> None:
    listing = (
        "'http://deb.debian.org/debian/pool/main/libs/libsrtp2-1_2.5.0-3_amd64.deb' "
        "libsrtp2-1_2.5.0-3_amd64.deb 55000 MD5Sum:00ff\n"
    )
    with pytest.raises(AsteriskInstallError, match="no SHA-256 digest listed"):
        parse_print_uris(listing)


# ---- updates: --refresh stages the newest build, a start with nothing running swaps it --


@pytest.fixture
def runnable_archive(tmp_path: Path) -> Iterator[LocalArchive]:
    with served(build_archive(tmp_path / "archive", runnable=True)) as running:
        yield running


def ensure_args(archive: LocalArchive, cache: Path, *args: str) -> Result:
    env = {
        "IOBRIDGE_CACHE_DIR": str(cache),
        "IOBRIDGE_ASTERISK_PREFER_SYSTEM": "false",
        "IOBRIDGE_DEBIAN_MIRROR": archive.url,
        "IOBRIDGE_DEBIAN_KEYRING": str(archive.keyring),
    }
    return CliRunner().invoke(main, ["asterisk", "ensure", *args], env=env)


def tree_version(cache: Path) -> str:
    return str(json.loads((cache / "asterisk" / "complete.json").read_text())["version"])


def test_refresh_builds_the_newest_beside_the_tree_and_the_next_start_swaps_it_in(
    runnable_archive: LocalArchive, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = ensure_args(runnable_archive, cache)
    assert first.exit_code == 0, first.output
    assert "Asterisk 22.0-1:" in first.stdout
    runnable_archive.publish("22.1-1")

    staged = ensure_args(runnable_archive, cache, "--refresh")
    assert staged.exit_code == 0, staged.output
    assert "Asterisk 22.1-1 is ready beside 22.0-1" in staged.stdout
    assert tree_version(cache) == "22.0-1"  # nothing swapped under a possible Asterisk

    start = ensure_args(runnable_archive, cache)
    assert start.exit_code == 0, start.output
    assert "swapped in the updated private Asterisk" in start.stdout
    assert "Asterisk 22.1-1:" in start.stdout
    assert tree_version(cache) == "22.1-1"
    assert not (cache / "asterisk" / "next").exists()
    assert not (cache / "asterisk" / "old").exists()


def test_refresh_with_nothing_newer_changes_nothing(
    runnable_archive: LocalArchive, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    assert ensure_args(runnable_archive, cache).exit_code == 0
    result = ensure_args(runnable_archive, cache, "--refresh")
    assert result.exit_code == 0, result.output
    assert "22.0-1 is the newest build in sid" in result.stdout
    assert "[2/5] downloading" not in result.stdout
    assert not (cache / "asterisk" / "next").exists()


def test_an_update_waits_while_an_asterisk_runs_the_current_tree(
    runnable_archive: LocalArchive, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    assert ensure_args(runnable_archive, cache).exit_code == 0
    runnable_archive.publish("22.1-1")
    assert ensure_args(runnable_archive, cache, "--refresh").exit_code == 0
    binary = cache / "asterisk" / "tree" / "usr/sbin/asterisk"
    # Runs the tree as the private Asterisk does: the binary is an argument of its loader.
    started = "import sys, time; print(flush=True); time.sleep(60)"
    running = subprocess.Popen([sys.executable, "-c", started, str(binary)], stdout=subprocess.PIPE)
    try:
        assert running.stdout is not None
        running.stdout.readline()  # it runs (its command line is the one above, not ours)
        waiting = ensure_args(runnable_archive, cache)
        assert waiting.exit_code == 0, waiting.output
        assert f"the current one still runs (pid {running.pid})" in waiting.stdout
        assert tree_version(cache) == "22.0-1"
    finally:
        running.kill()
        running.wait()
    after = ensure_args(runnable_archive, cache)
    assert "swapped in" in after.stdout and tree_version(cache) == "22.1-1"


def test_a_swap_cut_short_after_moving_the_old_tree_is_finished_at_the_next_start(
    runnable_archive: LocalArchive, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    assert ensure_args(runnable_archive, cache).exit_code == 0
    runnable_archive.publish("22.1-1")
    assert ensure_args(runnable_archive, cache, "--refresh").exit_code == 0
    base = cache / "asterisk"
    (base / "complete.json").unlink()  # the swap's first two steps, then a power cut
    (base / "old").mkdir()
    (base / "tree").rename(base / "old" / "tree")
    result = ensure_args(runnable_archive, cache)
    assert result.exit_code == 0, result.output
    assert tree_version(cache) == "22.1-1"
    assert (base / "tree" / "usr/sbin/asterisk").exists()


def test_the_started_asterisk_is_reported_with_its_package_date_age_and_a_waiting_update(
    runnable_archive: LocalArchive, tmp_path: Path
) -> None:
    cache, state = tmp_path / "cache", tmp_path / "state"
    assert ensure_args(runnable_archive, cache).exit_code == 0
    settings = Settings(cache_dir=cache, state_dir=state)
    install = ensure_asterisk(cache, prefer_system=False, progress=lambda _: None)
    settings.asterisk_dir.mkdir(parents=True)
    record_started(settings, install)  # as up and asterisk run do
    runnable_archive.publish("22.1-1")
    assert ensure_args(runnable_archive, cache, "--refresh").exit_code == 0

    facts = running_asterisk(settings, today=date(2026, 12, 2))
    assert facts is not None
    assert (facts["version"], facts["private"]) == ("22.0-1", True)
    assert (facts["dated"], facts["dated_by"]) == ("2026-11-02", "Debian changelog")
    assert facts["age_days"] == 30
    assert facts["update_waiting"] == "22.1-1"


def test_a_stack_that_started_no_asterisk_reports_none(tmp_path: Path) -> None:
    assert running_asterisk(Settings(state_dir=tmp_path, cache_dir=tmp_path)) is None
