"""The one place where io-bridge reads its configuration (environment, prefix ``IOBRIDGE_``)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "iobridge"


class Settings(BaseSettings):
    """Everything a running stack needs; defaults suit a laptop (all on loopback)."""

    model_config = SettingsConfigDict(env_prefix="IOBRIDGE_", extra="ignore")

    state_dir: Path = Field(default=PROJECT_ROOT / ".state")
    cache_dir: Path = Field(default_factory=_default_cache_dir)

    bind_host: str = "127.0.0.1"
    sip_port: int = 5060
    # Two ports a call (RTP and RTCP): 2,000 calls, for a night of 1,000 callers with room to
    # spare. ``iobridge rooms check`` warns when the rooms' max_participants add up to more.
    rtp_port_start: int = 20000
    rtp_port_end: int = 23999
    ami_port: int = 5038
    agi_port: int = 4573
    http_port: int = 8080
    entry_extension: str = "1000"

    database_url: str | None = None
    rooms_file: Path = Field(default=PROJECT_ROOT / "examples" / "rooms.yaml")
    config_dir: Path = Field(default=PROJECT_ROOT / "asterisk-config")
    dialplan_dir: Path = Field(default=PROJECT_ROOT / "dialplan")

    # Asterisk: a system one is used when it is at least this version, unless asked otherwise.
    asterisk_binary: Path | None = None
    asterisk_prefer_system: bool = True
    debian_mirror: str | None = None
    debian_suite: str = "sid"

    ami_username: str = "iobridge"
    ami_secret: SecretStr | None = None
    ami_action_timeout: float = 5.0
    ami_ping_seconds: float = 10.0  # a link unanswered for this long (+5 s) is dropped

    pin_attempts_per_call: int = 3
    lockout_threshold: int = 5
    lockout_window_seconds: int = 600
    lockout_duration_seconds: int = 900
    anonymous_lockout_threshold: int = 3

    # How often the talk time of people talking is written to history (a crash loses less).
    talk_checkpoint_seconds: float = 5.0

    log_level: str = "INFO"

    @field_validator("state_dir", "cache_dir", "rooms_file", "config_dir", "dialplan_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # Asterisk resolves relative paths against its own folders (a recording asked for
        # as ".state/recordings/x.wav" would land under its monitor folder).
        return value.expanduser().resolve()

    @property
    def run_dir(self) -> Path:
        """Asterisk's rendered configuration, sockets and spool for this stack."""
        return self.state_dir / "asterisk"

    @property
    def recordings_dir(self) -> Path:
        return self.state_dir / "recordings"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "iobridge.pid"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.state_dir / 'iobridge.sqlite3'}"

    @property
    def dial_target(self) -> str:
        return f"sip:{self.entry_extension}@{self.bind_host}:{self.sip_port}"

    def ensure_ami_secret(self) -> SecretStr:
        """The AMI secret: given, or generated once and kept in the state folder (mode 0600)."""
        if self.ami_secret is None:
            self.ami_secret = self._secret_file("ami-secret")
        return self.ami_secret

    def ensure_admin_token(self) -> SecretStr:
        """The token the local CLI presents to the running service's API (mode 0600 file)."""
        return self._secret_file("admin-token")

    def _secret_file(self, name: str) -> SecretStr:
        path = self.state_dir / name
        if not path.exists():
            self.state_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first: read theirs
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(24) + "\n")
        return SecretStr(path.read_text().strip())
