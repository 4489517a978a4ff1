"""io-bridge's Asterisk configuration, rendered from one set of templates (``asterisk-config/``
and ``dialplan/``, readable by an Asterisk admin as they are; only ports, paths and the AMI
secret are filled in). Two users: the private Asterisk gets every file whole
(``process.render_config``); an admin's own Asterisk gets the parts it needs, to ``#include``
(``own_asterisk``), cut from the same rendering by ``sections`` and ``without_sections``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from bridge.asterisk.ami_events import EVENTS_READ
from bridge.asterisk.install import AsteriskInstall
from bridge.settings import Settings

_SECTION = re.compile(r"^\[([^\]]+)\]")


class AsteriskConfigError(Exception):
    """A template could not be rendered; the message names the file."""


def template_values(
    settings: Settings, install: AsteriskInstall | None = None
) -> dict[str, object]:
    """What the templates are filled in with; the Asterisk tree's folders only with
    ``install`` (asterisk.conf names them: only the private Asterisk's is rendered)."""
    values: dict[str, object] = {
        "run_dir": settings.asterisk_dir,
        "sip_host": settings.bind_host,
        "sip_port": settings.sip_port,
        "external_media_address": settings.external_media_address,
        "external_signaling_address": settings.external_signaling_address,
        "local_nets": settings.local_nets,
        "session_timer_seconds": settings.sip_session_timer_seconds,
        "rewrite_contact": "yes",  # behind Kamailio "no" (node_config)
        "strict_rtp": "yes",  # a node of several: "no" (node_config, rtp.conf)
        "rtp_port_start": settings.rtp_port_start,
        "rtp_port_end": settings.rtp_port_end,
        "ami_host": "127.0.0.1",  # a node of several: its own address (node_config)
        "ami_port": settings.ami_port,
        "ami_username": settings.ami_username,
        "ami_secret": settings.ensure_ami_secret().get_secret_value(),
        "agi_port": settings.agi_port,
        "agi_secret": settings.ensure_agi_secret().get_secret_value(),
        "entry_extension": settings.entry_extension,
        "recordings_dir": settings.recordings_dir,
        "sounds_dir": settings.sounds_dir,
        "ami_events": EVENTS_READ,
    }
    if install is not None:
        values |= {
            "module_dir": install.module_dir,
            "data_dir": install.data_dir,
            "sbin_dir": install.binary.parent,
        }
    return values


def templates(settings: Settings) -> list[Path]:
    """Every template, by file name order within each folder."""
    return [
        template
        for source_dir in (settings.config_dir, settings.dialplan_dir)
        for template in sorted(source_dir.glob("*.conf"))
    ]


def render(template: Path, values: dict[str, object]) -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        return env.from_string(template.read_text()).render(values)
    except jinja2.TemplateError as exc:
        raise AsteriskConfigError(f"{template}: cannot render: {exc}") from exc


@dataclass(frozen=True)
class Section:
    """One ``[name]`` of a configuration file, with the comments and lines under it (up to
    the next section); ``name`` is "" for what comes before the first section."""

    name: str
    text: str


def sections(text: str) -> list[Section]:
    found: list[Section] = []
    name, lines = "", list[str]()
    for line in text.splitlines(keepends=True):
        header = _SECTION.match(line)
        if header:
            found.append(Section(name, "".join(lines)))
            name, lines = header.group(1), []
        lines.append(line)
    found.append(Section(name, "".join(lines)))
    return found


def without_sections(text: str, dropped: set[str]) -> str:
    """``text`` without its leading comments and the sections named in ``dropped``."""
    return "".join(s.text for s in sections(text) if s.name and s.name not in dropped)


def inline_globals(text: str) -> str:
    """The dialplan without ``[general]`` and ``[globals]``, each global's value written
    where the contexts use it: an admin's own extensions.conf has its own ``[globals]``, and
    Asterisk reads only the first section of that name."""
    values: dict[str, str] = {}
    for section in sections(text):
        if section.name == "globals":
            for line in section.text.splitlines()[1:]:
                name, sep, value = line.partition("=")
                if sep and not line.lstrip().startswith(";"):
                    values[name.strip()] = value.strip()
    kept = without_sections(text, {"general", "globals"})
    for name, value in values.items():
        kept = kept.replace("${" + name + "}", value)
    return kept


def context_names(dialplan: str) -> list[str]:
    """The dialplan contexts a rendered extensions.conf defines."""
    return [s.name for s in sections(dialplan) if s.name and s.name not in ("general", "globals")]
