"""The trunks' part of Asterisk's pjsip configuration: ``pjsip-trunks.conf``, rendered from
``asterisk-config/trunks/pjsip-trunks.conf`` into Asterisk's etc folder (pjsip.conf reads it
with ``#tryinclude``), then ``module reload res_pjsip.so``.

Each trunk's secret is read here, from its ``secret_file`` or ``secret_env``, and written
only into that file (private to Asterisk's user, like manager.conf): never into a log, the
database or a message (``TrunkSecretMissing`` names where it was looked for)."""

from __future__ import annotations

import os
from pathlib import Path

from bridge.asterisk.config_files import render, template_values
from bridge.domain.trunks import Transport, TrunkKind, TrunkSpec
from bridge.settings import Settings
from bridge.settings.files import PRIVATE_FILE

TRUNKS_FILE = "pjsip-trunks.conf"
RELOAD = "module reload res_pjsip.so"


class TrunkSecretMissing(Exception):
    """A register trunk's secret cannot be read; the message names where, never a value."""


def trunks_file(settings: Settings) -> Path:
    return settings.asterisk_dir / "etc" / TRUNKS_FILE


def secret_of(trunk: TrunkSpec) -> str:
    if trunk.secret_file:
        try:
            text = Path(trunk.secret_file).read_text().strip()
        except OSError as exc:
            raise TrunkSecretMissing(
                f"trunk {trunk.name}: cannot read secret_file {trunk.secret_file}: {exc.strerror}"
            ) from None
        where = f"secret_file {trunk.secret_file}"
    else:
        text = os.environ.get(trunk.secret_env or "", "")
        where = f"secret_env {trunk.secret_env}"
    if not text:
        raise TrunkSecretMissing(f"trunk {trunk.name}: {where} is empty or not set")
    if any(c in text for c in "\r\n\0"):
        raise TrunkSecretMissing(f"trunk {trunk.name}: {where} holds more than one line")
    return text.replace(";", "\\;")  # Asterisk's config files start a comment at ';'


def render_trunks(settings: Settings, trunks: tuple[TrunkSpec, ...] | list[TrunkSpec]) -> str:
    """The file's text. Raises ``TrunkSecretMissing`` before anything is written."""
    rendered = []
    for trunk in trunks:
        secret = secret_of(trunk) if trunk.kind is TrunkKind.REGISTER else ""
        rendered.append(
            {
                "name": trunk.name,
                "kind": str(trunk.kind),
                "host": trunk.host,
                "port": trunk.port,
                "transport": str(trunk.transport),
                "tls": trunk.transport is Transport.TLS,
                "match": trunk.match,
                "username": trunk.username,
                "secret": secret,
                "codecs": trunk.codecs,
                "dtmf_mode": str(trunk.dtmf_mode),
                "media_address": trunk.external_media_address,
            }
        )
    signaling = next(
        (t.external_signaling_address for t in trunks if t.external_signaling_address), None
    )
    values = template_values(settings) | {
        "trunks": rendered,
        "tcp": any(t.transport is Transport.TCP for t in trunks),
        "tls": any(t.transport is Transport.TLS for t in trunks),
        "etc_dir": settings.asterisk_dir / "etc",
        "external_signaling_address": signaling,
    }
    return render(settings.config_dir / "trunks" / TRUNKS_FILE, values)


def write_trunks(settings: Settings, trunks: tuple[TrunkSpec, ...] | list[TrunkSpec]) -> Path:
    """Render, then write the file private (it holds the register trunks' secrets)."""
    text = render_trunks(settings, trunks)
    target = trunks_file(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return target
