"""A receiver of the push feed, as the settings name it (``IOBRIDGE_WEBHOOKS``): a model of
its own, so ``bridge.settings`` stays one page."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class Webhook(BaseModel):
    """One receiver of the push feed (docs/admin.md, "Webhooks"): every event of the kinds
    named (all, when none is) is POSTed to ``url``, signed with ``secret`` (or the secret
    in ``secret_file``, a file only the service reads)."""

    model_config = ConfigDict(extra="forbid")

    url: str
    secret: SecretStr | None = None
    secret_file: Path | None = None
    events: list[str] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
        if not sep or scheme.lower() not in ("http", "https") or not host:
            raise ValueError("expected an http:// or https:// URL with a host")
        return value

    @field_validator("events")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        from bridge.domain.feed import Kind  # here: a command that sets no webhook skips it

        known = [str(kind) for kind in Kind]
        for name in value:
            if name not in known:
                raise ValueError(f"unknown event kind {name!r}; expected any of {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> Webhook:
        if (self.secret is None) == (self.secret_file is None):
            raise ValueError("give a secret or a secret_file (one of them)")
        return self

    def key(self) -> bytes:
        """The signing key: the secret, or the first line of ``secret_file``."""
        if self.secret is not None:
            return self.secret.get_secret_value().encode()
        assert self.secret_file is not None
        return self.secret_file.read_text().strip().encode()
