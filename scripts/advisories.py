"""Known vulnerabilities in the installed packages, checked offline against a snapshot of the
PyPA advisory database (https://github.com/pypa/advisory-database, OSV format).

    python -m scripts.advisories audit [--snapshot FILE]     (make audit)
    python -m scripts.advisories refresh ADVISORY_DB OUTPUT  (scripts/refresh-advisories)

The snapshot is the database reduced to the packages this project can install: every
distribution of the virtualenv that refreshes it and every requirement pyproject.toml names.
It also lists every other package the database has advisories for, so that a package which
enters later is either known to have none or reported as unchecked, never passed unseen.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

REPO = Path(__file__).resolve().parent.parent
# The first that exists: one committed with the project, or one in the project's shared folder
# beside the clone (where the workplace keeps data taken from other repositories).
SNAPSHOTS = (REPO / ".ci" / "advisories.json", REPO.parent / "shared" / "advisories.json")
SOURCE = "https://github.com/pypa/advisory-database"
MAX_AGE_DAYS = 60

Events = list[dict[str, str]]  # one ECOSYSTEM range: introduced / fixed / last_affected


class SnapshotError(Exception):
    """The snapshot is missing or not what refresh writes; the message names the file."""


class NoSnapshot(SnapshotError):
    """No snapshot anywhere: this machine has none (it cannot be committed: the advisory
    data is the PyPA database's, brought from outside, and neither pypi.org's per-release
    API nor OSV answers here)."""


@dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    package: str  # canonical name
    ranges: tuple[Events, ...]
    versions: tuple[str, ...]  # affected releases that no range covers

    def affects(self, version: Version) -> bool:
        return any(in_range(version, events) for events in self.ranges) or any(
            _same_release(version, listed) for listed in self.versions
        )

    def fixed_in(self, version: Version) -> str | None:
        """The lowest fix above `version` in the ranges that hold it (None: no fixed release)."""
        fixes = [
            Version(event["fixed"])
            for events in self.ranges
            if in_range(version, events)
            for event in events
            if "fixed" in event and Version(event["fixed"]) > version
        ]
        return str(min(fixes)) if fixes else None


@dataclass(frozen=True)
class Hit:
    package: str
    version: str
    advisory: Advisory
    fixed: str | None

    def __str__(self) -> str:
        cves = [alias for alias in self.advisory.aliases if alias.startswith("CVE-")]
        name = self.advisory.id + (f" ({', '.join(cves)})" if cves else "")
        fix = f"fixed in {self.fixed}" if self.fixed else "no fixed release"
        return f"{self.package} {self.version}: {name}: {fix}"


@dataclass(frozen=True)
class Snapshot:
    commit: str
    date: datetime
    packages: frozenset[str]  # every advisory of these is in `advisories`
    database_packages: frozenset[str]  # every package the database has any advisory for
    advisories: tuple[Advisory, ...]

    def age_days(self, now: datetime) -> int:
        return (now - self.date).days


@dataclass(frozen=True)
class Report:
    hits: list[Hit]
    unchecked: list[str]  # "name version: why"


def _bound(event: Mapping[str, str]) -> Version:
    return Version(next(iter(event.values())))


def in_range(version: Version, events: Events) -> bool:
    """OSV's ECOSYSTEM range, in PEP 440 order: affected from an `introduced` up to (not
    including) a `fixed`, or up to and including a `last_affected`."""
    affected = False
    for event in sorted(events, key=_bound):
        kind, value = next(iter(event.items()))
        if kind == "introduced":
            # "0": since the first release, its pre-releases (0.1a1, 0.dev0) included
            affected = affected or value == "0" or version >= Version(value)
        elif kind in ("fixed", "last_affected"):
            bound = Version(value)
            if version > bound or (kind == "fixed" and version == bound):
                affected = False
    return affected


def _same_release(version: Version, listed: str) -> bool:
    try:
        return version == Version(listed)
    except InvalidVersion:
        return str(version) == listed


def audit(installed: Iterable[tuple[str, str]], snapshot: Snapshot) -> Report:
    """Every (name, version) against the snapshot."""
    by_package: dict[str, list[Advisory]] = {}
    for advisory in snapshot.advisories:
        by_package.setdefault(advisory.package, []).append(advisory)
    hits: list[Hit] = []
    unchecked: list[str] = []
    for name, raw_version in sorted({(canonicalize_name(n), v) for n, v in installed}):
        if name not in snapshot.packages:
            if name in snapshot.database_packages:
                unchecked.append(f"{name} {raw_version}: has advisories the snapshot left out")
            continue
        try:
            version = Version(raw_version)
        except InvalidVersion:
            unchecked.append(f"{name} {raw_version}: not a PEP 440 version")
            continue
        hits += [
            Hit(name, raw_version, advisory, advisory.fixed_in(version))
            for advisory in by_package.get(name, [])
            if advisory.affects(version)
        ]
    return Report(hits, unchecked)


def installed_distributions() -> list[tuple[str, str]]:
    return [(dist.metadata["Name"], dist.version) for dist in metadata.distributions()]


def load(path: Path) -> Snapshot:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        date = datetime.fromisoformat(data["date"])
        if date.tzinfo is None:
            raise ValueError(f"date {data['date']!r} has no UTC offset")
        return Snapshot(
            commit=data["commit"],
            date=date,
            packages=frozenset(data["packages"]),
            database_packages=frozenset(data["database_packages"]),
            advisories=tuple(
                Advisory(
                    id=item["id"],
                    aliases=tuple(item["aliases"]),
                    package=item["package"],
                    ranges=tuple(item["ranges"]),
                    versions=tuple(item["versions"]),
                )
                for item in data["advisories"]
            ),
        )
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such file") from None
    except json.JSONDecodeError as error:
        raise SnapshotError(f"{path}:{error.lineno}: not JSON: {error.msg}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise SnapshotError(
            f"{path}: not a snapshot scripts/refresh-advisories wrote: {error!r}"
        ) from None


def find_snapshot(candidates: Sequence[Path] = SNAPSHOTS) -> Path:
    for path in candidates:
        if path.is_file():
            return path
    raise NoSnapshot(
        "no advisory snapshot at "
        + " or ".join(str(path) for path in candidates)
        + ': write one with scripts/refresh-advisories (docs/admin.md, "Dependencies")'
    )


def _count(items: Sequence[object], one: str, many: str) -> str:
    return f"{len(items)} {one if len(items) == 1 else many}"


def run_audit(
    snapshot_path: Path | None,
    installed: Iterable[tuple[str, str]],
    now: datetime,
    out: Any = sys.stdout,
    required: bool = False,
) -> int:
    """0 when no known vulnerability is installed; 1 on a hit, a package left unchecked, or
    a broken snapshot. With no snapshot at all: NOT RUN, said loudly, and 1 only when
    ``required`` (AUDIT_REQUIRED=1), so a machine without the advisory data still tests."""
    try:
        path = snapshot_path or find_snapshot()
        snapshot = load(path)
    except NoSnapshot as error:
        print(f"audit: NOT RUN: {error}", file=out)
        print("audit: WARNING: dependencies NOT checked for known vulnerabilities", file=out)
        return 1 if required else 0
    except SnapshotError as error:
        print(f"audit: FAILED: {error}", file=out)
        return 1
    installed = list(installed)
    age = snapshot.age_days(now)
    print(
        f"audit: {len(set(installed))} installed packages against the PyPA advisory database"
        f" at {snapshot.commit[:12]} ({snapshot.date:%Y-%m-%d}, {age} days old; {path})",
        file=out,
    )
    if age > MAX_AGE_DAYS:
        print(
            f"audit: WARNING: the snapshot is {age} days old (more than {MAX_AGE_DAYS}):"
            " advisories published since are not checked; refresh it",
            file=out,
        )
    report = audit(installed, snapshot)
    for hit in report.hits:
        print(hit, file=out)
    for line in report.unchecked:
        print(f"{line}: NOT CHECKED", file=out)
    if report.hits or report.unchecked:
        print(
            f"audit: FAILED: {_count(report.hits, 'known vulnerability', 'known vulnerabilities')},"
            f" {_count(report.unchecked, 'package', 'packages')} not checked:"
            " raise a vulnerable package's floor in pyproject.toml"
            " and reinstall; refresh the snapshot for a package it left out",
            file=out,
        )
        return 1
    print("audit: no known vulnerability", file=out)
    return 0


# Refresh: reduce a checkout (or bare clone) of the advisory database to a snapshot.


def project_packages(pyproject: Path = REPO / "pyproject.toml") -> set[str]:
    """Every distribution of this virtualenv and every requirement pyproject.toml names."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    project = data["project"]
    requirements = [
        *data["build-system"]["requires"],
        *project["dependencies"],
        *(req for reqs in project["optional-dependencies"].values() for req in reqs),
    ]
    names = {canonicalize_name(Requirement(req).name) for req in requirements}
    return names | {canonicalize_name(name) for name, _ in installed_distributions()}


def _reduce(document: Mapping[str, Any], packages: set[str]) -> Iterable[dict[str, Any]]:
    for affected in document.get("affected", []):
        package = affected.get("package", {})
        name = canonicalize_name(package.get("name", ""))
        if package.get("ecosystem") != "PyPI" or name not in packages:
            continue
        ranges = [
            [
                {kind: str(value)}
                for event in r["events"]
                for kind, value in event.items()
                if kind in ("introduced", "fixed", "last_affected")  # not OSV's "limit"
            ]
            for r in affected.get("ranges", [])
            if r["type"] == "ECOSYSTEM"
        ]
        versions = [str(v) for v in affected.get("versions", [])]
        for event in (event for events in ranges for event in events):
            _bound(event)  # raises InvalidVersion now rather than in every audit
        uncovered = [v for v in versions if not any(_in_range_str(v, events) for events in ranges)]
        yield {
            "id": document["id"],
            "aliases": list(document.get("aliases", [])),
            "package": name,
            "ranges": ranges,
            "versions": uncovered,
        }


def _in_range_str(version: str, events: Events) -> bool:
    try:
        return in_range(Version(version), events)
    except InvalidVersion:
        return False


def _git(database: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "-C", str(database), *args], input=stdin, capture_output=True, check=True
    ).stdout


def _blobs(database: Path, paths: Sequence[str]) -> Iterator[bytes]:
    """The files at HEAD, through one `git cat-file --batch` (a bare clone works too)."""
    out = _git(
        database, "cat-file", "--batch", stdin="".join(f"HEAD:{p}\n" for p in paths).encode()
    )
    position = 0
    for _ in paths:  # each: "<sha> blob <size>\n<content>\n"
        header_end = out.index(b"\n", position)
        size = int(out[position:header_end].split()[2])
        yield out[header_end + 1 : header_end + 1 + size]
        position = header_end + 1 + size + 1


def refresh(database: Path, packages: set[str]) -> dict[str, Any]:
    import yaml  # a dependency of the project; only refresh needs it

    commit, date = _git(database, "log", "-1", "--format=%H%n%cI", "HEAD").decode().split()
    listing = _git(database, "ls-tree", "-r", "--name-only", "HEAD", "vulns/").decode()
    paths = [path for path in listing.split() if path.endswith((".yaml", ".yml", ".json"))]
    database_packages: set[str] = set()
    advisories: list[dict[str, Any]] = []
    for path, blob in zip(paths, _blobs(database, paths), strict=True):
        try:
            document = yaml.load(blob, Loader=yaml.CSafeLoader)
        except yaml.YAMLError as error:
            raise SystemExit(f"{database}: {path}: not YAML: {error}") from None
        if document.get("withdrawn"):
            continue
        for affected in document.get("affected", []):
            if affected.get("package", {}).get("ecosystem") == "PyPI":
                database_packages.add(canonicalize_name(affected["package"]["name"]))
        try:
            advisories += _reduce(document, packages)
        except InvalidVersion as error:
            raise SystemExit(f"{database}: {path}: {error}") from None
    return {
        "source": SOURCE,
        "commit": commit,
        "date": date,
        "packages": sorted(packages),
        "advisories": sorted(advisories, key=lambda a: (a["package"], a["id"])),
        "database_packages": sorted(database_packages),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.advisories", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("audit", help="check the installed packages (make audit)")
    check.add_argument(
        "--required",
        action="store_true",
        help="fail when no snapshot is found (default: say so loudly and pass)",
    )
    check.add_argument(
        "--snapshot",
        type=Path,
        help="default: the first of " + ", ".join(str(path) for path in SNAPSHOTS),
    )
    write = commands.add_parser("refresh", help="write a snapshot from the advisory database")
    write.add_argument("database", type=Path, help="a clone of " + SOURCE)
    write.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    if args.command == "audit":
        return run_audit(
            args.snapshot, installed_distributions(), datetime.now(UTC), required=args.required
        )
    snapshot = refresh(args.database, project_packages())
    args.output.write_text(json.dumps(snapshot, indent=1) + "\n", encoding="utf-8")
    print(
        f"{args.output}: {len(snapshot['advisories'])} advisories for"
        f" {len(snapshot['packages'])} packages, database at {snapshot['commit'][:12]}"
        f" ({snapshot['date']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
