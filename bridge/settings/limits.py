"""The limits part of the settings (``Settings`` inherits it): connections to the panel and
to FastAGI, PIN attempts, and the guard against PIN guessing."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class Limits(BaseSettings):
    # Connection limits (docs/admin.md): the panel's HTTP server, and the FastAGI server,
    # which callers need and which only Asterisk on this machine talks to.
    http_max_connections: int = 256
    # About ten panels behind one address (an office's NAT): a browser holds the room's
    # websocket and up to six keep-alive connections.
    http_max_connections_per_client: int = 64
    http_keepalive_seconds: float = 15.0
    agi_max_dialogues: int = 500
    # New FastAGI dialogues a second (PIN prompts and stack keys, all callers together);
    # one second's worth may come at once.
    agi_dialogues_per_second: float = Field(default=50.0, gt=0)

    pin_attempts_per_call: int = 3
    # The guard against PIN guessing (docs/admin.md, "Guessing a PIN"; the defaults are
    # bridge.domain.guard.GuardPolicy's): wrong PINs a source may type in the window, the
    # same during an attack (all sources together past guard_global_alarm), failures naming
    # a trunk's shared budget, all prompts per minute during an attack, and the growing
    # delay before a source's next prompt.
    guard_window_seconds: float = Field(default=3600.0, gt=0)
    guard_source_threshold: int = Field(default=10, ge=1)
    guard_alarm_source_threshold: int = Field(default=4, ge=1)
    guard_global_alarm: int = Field(default=100, ge=1)
    guard_trunk_threshold: int = Field(default=60, ge=1)
    guard_alarm_prompts_per_minute: float = Field(default=30.0, gt=0)
    guard_first_delay_seconds: float = Field(default=2.0, ge=0)
    guard_max_delay_seconds: float = Field(default=60.0, ge=0)
    # Calls from one source in the PIN dialogue at once (over it: refused at once), and
    # calls held (waiting for a prompt) at once from all sources (over it: refused).
    guard_dialogues_per_source: int = Field(default=20, ge=1)
    guard_max_held_dialogues: int = Field(default=100, ge=1)
