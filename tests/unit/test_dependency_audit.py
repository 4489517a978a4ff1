"""The offline dependency audit (scripts/advisories.py): OSV ranges read in PEP 440 order, the
installed packages checked against a snapshot, and the snapshot written from a clone of the
advisory database."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from scripts import advisories
from scripts.advisories import (
    Advisory,
    Snapshot,
    SnapshotError,
    audit,
    find_snapshot,
    in_range,
    load,
    refresh,
    run_audit,
)

TAKEN = datetime(2026, 11, 1, tzinfo=UTC)


def advisory(
    ranges: list[list[dict[str, str]]], versions: tuple[str, ...] = (), package: str = "web"
) -> Advisory:
    return Advisory("PYSEC-1", ("CVE-2026-1", "GHSA-x"), package, tuple(ranges), versions)


def snapshot(*advisories: Advisory, others: tuple[str, ...] = ()) -> Snapshot:
    packages = frozenset({"web", "tool"})
    return Snapshot("c0ffee" * 6, TAKEN, packages, packages | set(others), advisories)


def affected(events: list[dict[str, str]], version: str) -> bool:
    return in_range(Version(version), events)


def test_a_range_holds_from_introduced_up_to_but_not_including_fixed() -> None:
    events = [{"introduced": "1.0"}, {"fixed": "1.5"}]
    assert [affected(events, v) for v in ("0.9", "1.0", "1.4.9", "1.5", "1.5.1")] == [
        False,
        True,
        True,
        False,
        False,
    ]


def test_introduced_zero_holds_from_the_first_release_pre_releases_included() -> None:
    events = [{"introduced": "0"}, {"fixed": "2.0"}]
    assert affected(events, "0.0.1")
    assert affected(events, "0.1a1")
    assert affected(events, "0.dev0")


def test_last_affected_is_included_and_what_follows_it_is_not() -> None:
    events = [{"introduced": "1.0"}, {"last_affected": "2.0"}]
    assert affected(events, "2.0")
    assert not affected(events, "2.0.post1")
    assert not affected(events, "2.0.1")


def test_a_pre_release_of_the_fix_is_still_affected_and_one_before_the_introduction_is_not() -> (
    None
):
    events = [{"introduced": "2.0"}, {"fixed": "3.9.2"}]
    assert affected(events, "3.9.2rc1")
    assert not affected(events, "3.9.2")
    assert not affected(events, "2.0b1")


def test_one_range_can_reopen_after_a_fix() -> None:
    events = [{"fixed": "1.2"}, {"introduced": "2.0"}, {"introduced": "1.0"}, {"fixed": "2.3"}]
    assert [affected(events, v) for v in ("1.1", "1.5", "2.1", "2.3")] == [True, False, True, False]


def test_an_open_range_has_no_fixed_release() -> None:
    hit = advisory([[{"introduced": "1.0"}]])
    assert hit.affects(Version("99"))
    assert hit.fixed_in(Version("99")) is None


def test_listed_versions_are_affected_as_releases_not_as_strings() -> None:
    listed = advisory([], versions=("1.0", "1.1"))
    assert listed.affects(Version("1.0.0"))
    assert not listed.affects(Version("1.2"))


def test_the_fix_reported_is_the_lowest_one_above_the_installed_version() -> None:
    two_branches = advisory([[{"introduced": "0"}, {"fixed": "3.13.4"}, {"fixed": "4.0.1"}]])
    assert two_branches.fixed_in(Version("3.13.0")) == "3.13.4"


def test_a_vulnerable_installed_version_is_a_hit_and_a_fixed_one_is_not() -> None:
    known = snapshot(advisory([[{"introduced": "0"}, {"fixed": "3.14.3"}]]))
    [hit] = audit([("Web", "3.14.2"), ("tool", "1.0")], known).hits
    assert str(hit) == "web 3.14.2: PYSEC-1 (CVE-2026-1): fixed in 3.14.3"
    assert audit([("web", "3.14.3")], known).hits == []


def test_a_package_the_database_has_no_advisory_for_passes() -> None:
    report = audit([("left-pad", "0.1")], snapshot(advisory([[{"introduced": "0"}]])))
    assert report.hits == [] and report.unchecked == []


def test_a_package_with_advisories_the_snapshot_left_out_is_not_checked() -> None:
    report = audit([("Django", "4.0")], snapshot(others=("django",)))
    assert report.unchecked == ["django 4.0: has advisories the snapshot left out"]


def write(path: Path, known: Snapshot) -> Path:
    path.write_text(
        json.dumps(
            {
                "source": "test",
                "commit": known.commit,
                "date": known.date.isoformat(),
                "packages": sorted(known.packages),
                "database_packages": sorted(known.database_packages),
                "advisories": [
                    {
                        "id": a.id,
                        "aliases": list(a.aliases),
                        "package": a.package,
                        "ranges": list(a.ranges),
                        "versions": list(a.versions),
                    }
                    for a in known.advisories
                ],
            }
        )
    )
    return path


def run(path: Path | None, installed: list[tuple[str, str]], now: datetime) -> tuple[int, str]:
    out = io.StringIO()
    return run_audit(path, installed, now, out), out.getvalue()


def test_the_audit_fails_on_a_deliberately_vulnerable_installed_version(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", snapshot(advisory([[{"introduced": "0"}, {"fixed": "2"}]])))
    code, out = run(path, [("web", "1.9"), ("tool", "5")], TAKEN + timedelta(days=3))
    assert code == 1
    assert "web 1.9: PYSEC-1 (CVE-2026-1): fixed in 2\n" in out
    assert out.splitlines()[-1].startswith(
        "audit: FAILED: 1 known vulnerability, 0 packages not checked:"
    )
    assert "WARNING" not in out


def test_the_audit_passes_and_warns_only_when_the_snapshot_is_old(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", snapshot(advisory([[{"introduced": "0"}, {"fixed": "2"}]])))
    code, out = run(path, [("web", "2.0")], TAKEN + timedelta(days=61))
    assert code == 0
    assert "(2026-11-01, 61 days old;" in out
    assert "audit: WARNING: the snapshot is 61 days old (more than 60)" in out
    assert out.splitlines()[-1] == "audit: no known vulnerability"


def test_a_missing_or_broken_snapshot_fails_the_audit_with_the_file_named(
    tmp_path: Path,
) -> None:
    code, out = run(tmp_path / "none.json", [], TAKEN)
    assert (code, out) == (1, f"audit: FAILED: {tmp_path / 'none.json'}: no such file\n")
    broken = tmp_path / "broken.json"
    broken.write_text('{"commit": "x",\n oops}')
    with pytest.raises(SnapshotError, match=r"broken\.json:2: not JSON"):
        load(broken)
    with pytest.raises(SnapshotError, match=r"no advisory snapshot at .*none\.json"):
        find_snapshot([tmp_path / "none.json"])


def test_with_no_snapshot_anywhere_the_audit_says_it_did_not_run_and_fails_only_if_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today's virtualenv itself is checked by `make audit` (a step of `make test`), against
    whatever snapshot this machine has."""
    monkeypatch.setattr(advisories, "SNAPSHOTS", (tmp_path / "none.json",))
    monkeypatch.setattr(advisories.find_snapshot, "__defaults__", ((tmp_path / "none.json",),))
    for required, expected in ((False, 0), (True, 1)):
        out = io.StringIO()
        code = run_audit(None, [], TAKEN, out, required=required)
        assert code == expected
        assert out.getvalue().startswith("audit: NOT RUN: no advisory snapshot at ")
        assert "dependencies NOT checked for known vulnerabilities" in out.getvalue()


def advisory_file(
    id: str, name: str, ecosystem: str = "PyPI", fixed: str = "1.2", **extra: Any
) -> str:
    document = {
        "id": id,
        "aliases": [f"CVE-{id}"],
        "affected": [
            {
                "package": {"name": name, "ecosystem": ecosystem},
                "ranges": [
                    {"type": "GIT", "repo": "r", "events": [{"introduced": "0"}, {"fixed": "ab"}]},
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "1.0"}, {"fixed": fixed}, {"limit": "*"}],
                    },
                ],
                "versions": ["1.0", "1.1", "0.9"],
            }
        ],
        **extra,
    }
    return json.dumps(document)  # JSON is YAML, as the database's loader reads it


def database(tmp_path: Path, files: dict[str, str]) -> Path:
    """A git repository laid out as the advisory database: vulns/PACKAGE/ID.yaml."""
    root = tmp_path / "advisory-database"
    for name, text in files.items():
        (root / "vulns" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "vulns" / name).write_text(text)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "advisories"], check=True)
    return root


def test_refresh_keeps_the_projects_packages_and_names_every_other(tmp_path: Path) -> None:
    files = {
        "Web/PYSEC-1.yaml": advisory_file("PYSEC-1", "Web"),
        "web/PYSEC-2.yaml": advisory_file("PYSEC-2", "web", withdrawn="2026-01-01T00:00:00Z"),
        "django/PYSEC-3.yaml": advisory_file("PYSEC-3", "Django"),
        "npm/GHSA-4.yaml": advisory_file("GHSA-4", "leftpad", ecosystem="npm"),
    }

    data = refresh(database(tmp_path, files), {"web", "tool"})

    assert data["packages"] == ["tool", "web"]
    assert data["database_packages"] == ["django", "web"]
    assert data["advisories"] == [
        {
            "id": "PYSEC-1",
            "aliases": ["CVE-PYSEC-1"],
            "package": "web",
            "ranges": [[{"introduced": "1.0"}, {"fixed": "1.2"}]],
            "versions": ["0.9"],
        }
    ]
    path = tmp_path / "advisories.json"
    path.write_text(json.dumps(data))
    report = audit([("web", "0.9"), ("web", "1.2"), ("django", "5")], load(path))
    assert [(hit.version, hit.fixed) for hit in report.hits] == [("0.9", None)]
    assert report.unchecked == ["django 5: has advisories the snapshot left out"]


def test_refresh_refuses_a_range_bound_that_is_not_a_version(tmp_path: Path) -> None:
    files = {"web/PYSEC-9.yaml": advisory_file("PYSEC-9", "web", fixed="next week")}
    with pytest.raises(SystemExit, match=r"vulns/web/PYSEC-9\.yaml: Invalid version"):
        refresh(database(tmp_path, files), {"web"})
