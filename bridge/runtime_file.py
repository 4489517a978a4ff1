"""How the CLI finds the running service: ``runtime.json`` in the state folder, written by
the service at start. Its own small module, so that a command that only talks to the
running service's API (``iobridge stack ROOM next``) imports none of the service."""

from __future__ import annotations

import json
import os

from bridge.settings import Settings


def write_runtime_file(settings: Settings) -> None:
    """Where this service answers, for ``iobridge room``, ``call`` and ``health`` (no
    secret here: the token stays in its own 0600 file)."""
    facts = {
        "pid": os.getpid(),
        "http": f"http://{settings.local_host}:{settings.http_port}",
        "sip_host": settings.local_host,
        "sip_port": settings.sip_port,
        "entry_extension": settings.entry_extension,
    }
    path = settings.runtime_file
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(facts) + "\n")
    temporary.replace(path)


def read_runtime_file(settings: Settings) -> dict[str, object] | None:
    try:
        facts = json.loads(settings.runtime_file.read_text())
    except (OSError, ValueError):
        return None
    return facts if isinstance(facts, dict) else None
