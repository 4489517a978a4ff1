"""`iobridge asterisk ensure`: idempotent, and one clear line naming the failed step."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.asterisk.install import parse_print_uris
from bridge.cli import main
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
