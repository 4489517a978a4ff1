"""Which Asterisk runs, and how old its build is: what ``iobridge health --json`` reports.

The process that starts Asterisk (``up``, or ``asterisk run`` under systemd) records the
install it started in the run folder; its age is counted from the Debian package's own date
(the last entry of its ``changelog.Debian.gz``), or, for an Asterisk built some other way,
from its binary's file date. An update staged by ``asterisk ensure --refresh`` and not yet
swapped in is named too.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from bridge.asterisk.install import AsteriskInstall
from bridge.asterisk.tree_swap import NEXT, staged
from bridge.settings import Settings

CHANGELOG = "usr/share/doc/asterisk/changelog.Debian.gz"
_TRAILER = re.compile(r"^ -- .*?  (\w{3}, +\d{1,2} \w{3} \d{4} [\d:]+ [+-]\d{4})\s*$", re.M)


def package_date(root: Path) -> date | None:
    """The date of the Debian package's last changelog entry, when it has one."""
    try:
        with gzip.open(root / CHANGELOG, "rt", encoding="utf-8", errors="replace") as handle:
            head = handle.read(64 * 1024)
    except (OSError, EOFError):
        return None
    match = _TRAILER.search(head)
    if match is None:
        return None
    try:
        return parsedate_to_datetime(match.group(1)).astimezone(UTC).date()
    except (TypeError, ValueError):
        return None


def describe(install: AsteriskInstall) -> dict[str, Any]:
    """The facts about an install that do not change while it runs."""
    dated, dated_by = package_date(install.root), "Debian changelog"
    if dated is None:
        with contextlib.suppress(OSError):
            dated = datetime.fromtimestamp(install.binary.stat().st_mtime, UTC).date()
            dated_by = "binary's file date"
    return {
        "version": install.version,
        "private": install.private,
        "binary": str(install.binary),
        "dated": dated.isoformat() if dated else None,
        "dated_by": dated_by if dated else None,
    }


def started_file(settings: Settings) -> Path:
    return settings.asterisk_dir / "asterisk.json"


def record_started(settings: Settings, install: AsteriskInstall) -> None:
    """Called by whatever starts Asterisk, just before it does."""
    path = started_file(settings)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(describe(install)) + "\n")
    temporary.replace(path)


def running_asterisk(settings: Settings, today: date | None = None) -> dict[str, Any] | None:
    """The Asterisk this state folder's stack started, its age in days, and the version of
    an update waiting to be swapped in; None when this stack did not start one (``serve``
    beside an Asterisk of your own)."""
    try:
        facts = json.loads(started_file(settings).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(facts, dict):
        return None
    today = today or datetime.now(UTC).date()
    dated = facts.get("dated")
    facts["age_days"] = (today - date.fromisoformat(dated)).days if dated else None
    facts["update_waiting"] = _waiting_version(settings.cache_dir / "asterisk")
    return facts


def _waiting_version(base: Path) -> str | None:
    if not staged(base):
        return None
    try:
        return str(json.loads((base / NEXT / "complete.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None
