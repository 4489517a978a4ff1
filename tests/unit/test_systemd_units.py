"""The systemd units as shipped: the service says when it is ready (Type=notify, which
``iobridge serve`` speaks), and each ``Documentation=`` names a file the documented install
puts in place."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "contrib" / "systemd").glob("*.service"))
INSTALLED_DOCS = "install -D -m 0644 -t /usr/share/doc/iobridge docs/*.md"


def test_the_service_unit_waits_for_the_service_to_say_it_is_ready() -> None:
    unit = (ROOT / "contrib" / "systemd" / "iobridge.service").read_text()
    assert re.search(r"^Type=notify$", unit, flags=re.M)
    assert "iobridge serve" in unit


def test_every_documentation_link_is_a_file_the_install_step_puts_there() -> None:
    admin = (ROOT / "docs" / "admin.md").read_text()
    assert INSTALLED_DOCS in admin
    pattern = re.compile(r"^Documentation=(.+)$", flags=re.M)
    links = [link for unit in UNITS for link in pattern.findall(unit.read_text())]
    assert len(links) == len(UNITS)
    for link in links:
        path = link.removeprefix("file:///usr/share/doc/iobridge/")
        assert path != link, f"{link}: not installed by {INSTALLED_DOCS}"
        assert (ROOT / "docs" / path).is_file(), link


def test_the_packages_links_are_the_installed_guides() -> None:
    """``[project.urls]`` (what ``pip show`` and package indexes list): the same guides."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    links = project["urls"]
    assert "Documentation" in links
    for name, link in links.items():
        path = link.removeprefix("file://localhost/usr/share/doc/iobridge/")
        assert path != link, f"{name} = {link}: not installed by {INSTALLED_DOCS}"
        assert (ROOT / "docs" / path).is_file(), f"{name} = {link}"
