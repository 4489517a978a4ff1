"""Whether this stack's SIP side takes calls that make PIN guessing faster: through a trunk
(its callers share budgets per trunk, not per address) or over IPv6 (one subscriber holds
thousands of /64 blocks). ``iobridge rooms check`` then refuses PINs shorter than 8 digits
(docs/admin.md, "Guessing a PIN"; the figures are ``bridge.domain.guessing``'s).

Read from what Asterisk is given: the settings' ``bind_host``, and the PJSIP endpoints
declared (not commented out) in the configuration folder's pjsip.conf other than the
anonymous one, and those ``iobridge rooms sync`` wrote into pjsip-trunks.conf from a rooms
file's ``trunks:`` (a rooms file with that section is held to long PINs by its reader).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from bridge.domain.sources import INTERNET_ENDPOINT
from bridge.settings import Settings

_SECTION = re.compile(r"^\[([^\]]+)\]")
_ENDPOINT = re.compile(r"^type\s*=\s*endpoint\s*(;.*)?$")


def declared_trunks(pjsip_conf: Path) -> list[str]:
    """Endpoints other than the anonymous one in a pjsip.conf (template or rendered)."""
    try:
        lines = pjsip_conf.read_text().splitlines()
    except OSError:
        return []
    found, section = [], None
    for raw in lines:
        line = raw.strip()
        if header := _SECTION.match(line):
            section = header.group(1).split("(", 1)[0]
        elif section and section != INTERNET_ENDPOINT and _ENDPOINT.match(line):
            found.append(section)
    return found


def long_pins_reason(settings: Settings) -> str | None:
    """Why PINs must be long on this stack, in a few words; None when they need not be."""
    reasons = []
    trunks = declared_trunks(settings.config_dir / "pjsip.conf")
    trunks += declared_trunks(settings.asterisk_dir / "etc" / "pjsip-trunks.conf")
    if trunks:
        reasons.append(f"a trunk is configured ({', '.join(trunks)} in pjsip.conf)")
    try:
        ipv6 = ipaddress.ip_address(settings.bind_host.strip("[]")).version == 6
    except ValueError:
        ipv6 = False
    if ipv6:
        reasons.append(f"SIP listens on IPv6 (IOBRIDGE_BIND_HOST={settings.bind_host})")
    return " and ".join(reasons) or None
