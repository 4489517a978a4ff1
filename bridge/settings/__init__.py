"""The one place where io-bridge reads its configuration (environment, prefix ``IOBRIDGE_``)."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from bridge.settings.database import async_database_url as async_database_url
from bridge.settings.files import (
    PRIVATE_DIR as PRIVATE_DIR,
    PRIVATE_FILE as PRIVATE_FILE,
    make_private_dir as make_private_dir,
    make_tree_private as make_tree_private,
)
from bridge.settings.languages import EntryLanguages
from bridge.settings.limits import Limits
from bridge.settings.webhooks import Webhook as Webhook

# What the program reads at run time (Asterisk's configuration, the dialplan, migrations, the
# example rooms): inside the installed package; in a checkout, links to the top-level folders.
DATA_FILES = Path(str(resources.files("bridge"))) / "data-files"
EXAMPLE_ROOMS_FILE = DATA_FILES / "examples" / "rooms.yaml"

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _default_cache_dir() -> Path:
    """systemd's CacheDirectory= under the units (/var/cache/iobridge), otherwise the user's."""
    unit_dirs = os.environ.get("CACHE_DIRECTORY")
    if unit_dirs:
        return Path(unit_dirs.split(":")[0])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "iobridge"


def _default_state_dir() -> Path:
    """systemd's StateDirectory= under the service unit (/var/lib/iobridge), otherwise the
    user's own state folder (XDG_STATE_HOME, or ~/.local/state)."""
    unit_dirs = os.environ.get("STATE_DIRECTORY")
    if unit_dirs:
        return Path(unit_dirs.split(":")[0])
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "iobridge"


class Settings(Limits):
    """Everything a running stack needs; defaults suit a laptop (all on loopback)."""

    model_config = SettingsConfigDict(env_prefix="IOBRIDGE_", extra="ignore")

    state_dir: Path = Field(default_factory=_default_state_dir)
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    # Asterisk's folder (its rendered configuration, logs, spool) and the recordings it
    # writes: in the state folder, unless Asterisk runs as a user of its own, who cannot
    # enter it (docs/admin.md, "Two users").
    asterisk_dir: Path = Field(default_factory=lambda data: data["state_dir"] / "asterisk")
    recordings_dir: Path = Field(default_factory=lambda data: data["state_dir"] / "recordings")
    # Who Asterisk and the service run as when `up` (or the Asterisk unit's rendering) is
    # started by root; ignored otherwise: everything runs as the user who started it.
    asterisk_user: str | None = None
    service_user: str | None = None

    bind_host: str = "127.0.0.1"
    sip_port: int = 5060
    # Two ports a call (RTP and RTCP): 2,000 calls, for a night of 1,000 callers with room
    # to spare (``iobridge rooms check`` warns when the rooms' max_participants need more).
    rtp_port_start: int = 20000
    rtp_port_end: int = 23999
    ami_port: int = 5038
    agi_port: int = 4573
    http_port: int = 8080
    entry_extension: str = "1000"
    # SIP session timers (RFC 4028) find calls whose phone is gone: Asterisk refreshes each
    # call (re-INVITE) every half of this, and hangs up one that does not answer. A dead
    # call is gone within this many seconds plus SIP's 32 s transaction timeout. 90 is
    # the least RFC 4028 allows.
    sip_session_timer_seconds: int = Field(default=1800, ge=90)

    database_url: str | None = None
    # The admin's rooms file: loaded into an empty database, compared with a full one; the
    # nodes file: several Asterisk nodes behind Kamailio (docs/admin.md, "More than one machine").
    rooms_file: Path | None = None
    nodes_file: Path | None = None
    config_dir: Path = DATA_FILES / "asterisk-config"
    dialplan_dir: Path = DATA_FILES / "dialplan"
    # An Asterisk of the admin's own plays io-bridge's prompts from here (a copy of
    # asterisk-config/sounds it can read, ``iobridge asterisk config --for-existing``).
    asterisk_sounds_dir: Path | None = None

    # SIP behind NAT (a container, a cloud host): the public address to announce in SIP and
    # SDP, and the networks that are reached directly (comma-separated, e.g. 10.0.0.0/8).
    external_media_address: str | None = None
    external_signaling_address: str | None = None
    local_net: str = ""

    # Asterisk: a system one is used when it is at least this version, unless asked otherwise.
    asterisk_binary: Path | None = None
    asterisk_prefer_system: bool = True
    debian_mirror: str | None = None
    debian_suite: str = "sid"
    # The archive's InRelease must verify against this keyring (Debian's own, by default).
    debian_keyring: Path = Path("/usr/share/keyrings/debian-archive-keyring.gpg")

    ami_username: str = "iobridge"
    ami_secret: SecretStr | None = None
    # What Asterisk presents to the FastAGI server (bridge.asterisk.fastagi): given here, or
    # made once in the state folder; the service and Asterisk's dialplan must agree on it.
    agi_secret: SecretStr | None = None
    # The key PINs are hashed with (bridge.domain.pins): given here, or made once in the
    # state folder. Every process sharing a database must have the same one.
    pin_key: SecretStr | None = None
    # What a scraper or a readiness probe presents to /metrics and /readyz (docs/admin.md,
    # "Health and metrics"): given here, or made once in the state folder (metrics-token).
    metrics_token: SecretStr | None = None
    ami_action_timeout: float = 5.0
    ami_ping_seconds: float = 10.0  # a link unanswered for this long (+5 s) is dropped
    # Several nodes (docs/admin.md): a node's link is pinged this often and dropped when a
    # ping goes unanswered for 1.25 times as long, so a hung node is seen within 2.25
    # times this (4.5 s by default: the issue asks for 5); a killed one at once.
    node_ping_seconds: float = Field(default=2.0, gt=0)

    entry_languages: EntryLanguages = ()  # a choice before the PIN prompt: docs/admin.md
    # Dial-out (docs/moderator.md): numbers a moderator may have dialled a day (UTC); seconds
    # a callee may ring, then take to press 1; seconds between two attempts of a number.
    dialout_daily_limit: int = Field(default=200, ge=0)
    dialout_ring_seconds: float = Field(default=30.0, gt=0)
    dialout_key_seconds: float = Field(default=15.0, gt=0)
    dialout_retry_seconds: float = Field(default=60.0, gt=0)
    # How often the talk time of people talking is written to history (a crash loses less).
    talk_checkpoint_seconds: float = 5.0
    # Caller IDs in the call history are kept this many days after a call ends, then
    # replaced by pseudonyms ("caller 3") by the service itself, checked this often.
    history_retention_days: int = Field(default=30, ge=0)
    history_purge_every_seconds: float = Field(default=3600.0, gt=0)
    on_demand_close_check_seconds: float = Field(default=30.0, gt=0)  # rooms opened on demand
    schedule_early_minutes: int = Field(default=10, ge=0, le=120)  # admitted before a call
    practice_max_callers: int = Field(default=100, ge=0)  # simulated callers, all rooms at once
    # Recording files are deleted this many days after they were last written, by the
    # same purge (0: at its next round).
    recording_retention_days: int = Field(default=90, ge=0)
    # The push feed's receivers: a JSON list of {url, secret or secret_file, events}.
    webhooks: list[Webhook] = Field(default_factory=list)
    # The moderators' panel: a session ends after this long without a request, and this long
    # after its login however much it is used; failed logins tolerated per username (from
    # one network: a /24 or a /64) and per address within the window; logins waiting for
    # their password check (64 MiB each, two at once) beyond which a login is answered 429.
    panel_session_hours: float = Field(default=12.0, gt=0)
    panel_session_max_hours: float = Field(default=24.0, gt=0)
    login_failures_per_username: int = 5
    login_failures_per_address: int = 20
    login_window_seconds: float = 900.0
    login_queue: int = Field(default=16, ge=1)
    # Where the panel is reached, as the browser's address bar says (https://panel.example.org):
    # the only Origin a POST or the live feed is taken from. Unset: the request's own Host,
    # and only when that is an IP address or localhost (a name could be anyone's).
    public_origin: str | None = None
    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; from any other peer they change nothing.
    trusted_proxies: str = ""
    # A request body (a login form, an action's arguments) must arrive whole within this.
    http_body_seconds: float = Field(default=10.0, gt=0)
    # A share of the panel's connections kept for logged-in moderators and API tokens.
    http_reserved_share: float = Field(default=0.25, ge=0, lt=1)

    log_level: str = "INFO"

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator(
        "state_dir", "cache_dir", "asterisk_dir", "recordings_dir", "rooms_file", "config_dir",
        "dialplan_dir", "asterisk_sounds_dir", "nodes_file",
    )  # fmt: skip
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        # Asterisk resolves relative paths against its own folders (a recording asked for
        # as ".state/recordings/x.wav" would land under its monitor folder).
        return value.expanduser().resolve() if value is not None else None

    @field_validator("external_media_address", "external_signaling_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        # Written into pjsip.conf as it is: a host name or an address, nothing else.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.:-]*", value):
            raise ValueError("expected an IP address or a host name, e.g. 203.0.113.7")
        return value

    @field_validator("agi_secret")
    @classmethod
    def _agi_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Part of the AGI URL in the dialplan: URL-safe characters, and long enough.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{16,}", value.get_secret_value()):
            raise ValueError("expected at least 16 characters from A-Z, a-z, 0-9, '-' and '_'")
        return value

    @field_validator("local_net")
    @classmethod
    def _networks(cls, value: str) -> str:
        for net in _split(value):
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"not a network: {net!r} (expected e.g. 192.168.0.0/16)") from None
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for proxy in _split(value):
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"not an address or a network: {proxy!r} "
                    "(expected e.g. 127.0.0.1 or 10.0.0.0/8)"
                ) from None
        return value

    @field_validator("public_origin")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
            raise ValueError(
                f"expected a scheme and a host, e.g. https://panel.example.org; got {value!r}"
            )
        return f"{parts.scheme}://{parts.netloc.lower()}"

    @property
    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(proxy, strict=False) for proxy in _split(self.trusted_proxies)]

    @property
    def local_nets(self) -> list[str]:
        return _split(self.local_net)

    @property
    def on_loopback(self) -> bool:
        """Bound to this machine alone: nobody else can dial in or open the panel."""
        try:
            return ipaddress.ip_address(self.bind_host).is_loopback
        except ValueError:
            return self.bind_host == "localhost"

    @property
    def local_host(self) -> str:
        """Where a process on this machine reaches what listens on ``bind_host``."""
        return "127.0.0.1" if self.bind_host in ("0.0.0.0", "") else self.bind_host

    @property
    def sounds_dir(self) -> Path:
        """io-bridge's own prompts, played by Asterisk from here (it must be able to read it)."""
        return self.asterisk_sounds_dir or self.config_dir / "sounds"

    @property
    def pid_file(self) -> Path:
        """Held by ``up`` (Asterisk and the supervised service), one per state folder."""
        return self.state_dir / "iobridge.pid"

    @property
    def service_pid_file(self) -> Path:
        """Held by the bridge service process (``serve``, alone or under ``up``)."""
        return self.state_dir / "service.pid"

    @property
    def runtime_file(self) -> Path:  # where the running service says how to reach it
        return self.state_dir / "runtime.json"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return async_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{self.state_dir / 'iobridge.sqlite3'}"

    @property
    def dial_target(self) -> str:
        return f"sip:{self.entry_extension}@{self.bind_host}:{self.sip_port}"

    def secure_state_dir(self) -> None:  # at start, including what is already in it
        make_tree_private(self.state_dir)

    def ensure_ami_secret(self) -> SecretStr:
        """The AMI secret: given, or generated once and kept in the state folder (mode 0600)."""
        if self.ami_secret is None:
            self.ami_secret = self._secret_file("ami-secret")
        return self.ami_secret

    def ensure_agi_secret(self) -> SecretStr:
        """The secret in every FastAGI request's URL: given, or generated once and kept in
        the state folder (mode 0600). Rendered into the dialplan; never logged."""
        if self.agi_secret is None:
            self.agi_secret = self._secret_file("agi-secret")
        return self.agi_secret

    def ensure_pin_key(self) -> SecretStr:
        """The key PINs are hashed with before they are stored (bridge.domain.pins): given,
        or made once in the state folder (mode 0600). Lose it and every PIN must be synced
        again from the rooms file (``iobridge rooms sync --new-pin-key``)."""
        if self.pin_key is None:
            self.pin_key = self._secret_file("pin-key")
        return self.pin_key

    def ensure_metrics_token(self) -> SecretStr:
        """The bearer token ``/metrics`` and ``/readyz`` ask for (Prometheus's
        ``authorization: credentials_file``): given, or made once in the state folder."""
        if self.metrics_token is None:
            self.metrics_token = self._secret_file("metrics-token")
        return self.metrics_token

    def ensure_admin_token(self) -> SecretStr:
        """The token the local CLI presents to the running service's API (mode 0600 file)."""
        return self._secret_file("admin-token")

    def _secret_file(self, name: str) -> SecretStr:
        path = self.state_dir / name
        if not path.exists():
            make_private_dir(self.state_dir)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
            except FileExistsError:
                pass  # another process made it first: read theirs
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(24) + "\n")
        # Root (rendering for Asterisk's own user) reads in a folder the service's user can
        # write to: a link planted there must not make root read another file.
        no_link = os.O_NOFOLLOW if os.geteuid() == 0 else 0
        with os.fdopen(os.open(path, os.O_RDONLY | no_link)) as handle:
            return SecretStr(handle.read().strip())


# Read from the environment by io-bridge's own tools, not by ``Settings``.
NOT_SETTINGS = frozenset({"IOBRIDGE_REQUIRE_POSTGRES"})  # the test suite: fail, not skip


def unread_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning for each ``IOBRIDGE_*`` variable that no setting reads (a typo is otherwise
    silently ignored), with the setting it most likely meant."""
    fields = sorted(field.upper() for field in Settings.model_fields)
    warnings = []
    for variable in sorted(environ):
        prefix, _, name = variable.upper().partition("IOBRIDGE_")
        if prefix or not name or name in fields or variable in NOT_SETTINGS:
            continue
        close = difflib.get_close_matches(name, fields, n=1, cutoff=0.7)
        hint = f" (did you mean IOBRIDGE_{close[0]}?)" if close else ""
        warnings.append(f"{variable} is set but no setting reads it{hint}; it is ignored")
    return warnings


def _split(value: str) -> list[str]:
    return [part for part in value.replace(",", " ").split() if part]
