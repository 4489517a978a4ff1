"""What every command shares: the ``iobridge`` group, settings, and failing in one line."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

import click

from bridge.settings import Settings

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"iobridge: {message}", err=True)
    sys.exit(code)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def settings() -> Settings:
    return Settings()


@click.group()
def main() -> None:
    """io-bridge: a conference bridge for organisers, on a real Asterisk."""


def call_api(
    config: Settings,
    method: str,
    path: str,
    body: dict[str, str] | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """One request to the running stack's API with the admin token; fails in one line."""
    token_file = config.state_dir / "admin-token"
    if not token_file.exists():
        if quiet:
            return {}
        fail(f"no running stack for {config.state_dir} (start it with: iobridge up)")
    url = f"http://127.0.0.1:{config.http_port}{path}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token_file.read_text().strip()}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read() or b"{}").get("error", exc.reason)
        except ValueError:
            detail = f"HTTP {exc.code} {exc.reason}"
        fail(str(detail))
    except OSError as exc:
        if quiet:
            return {}
        fail(f"the stack does not answer on port {config.http_port}: {exc}")
