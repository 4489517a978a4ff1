"""The database's URL as an admin writes it, and as SQLAlchemy's async engine takes it."""

from __future__ import annotations

# The URL an admin types, mapped to the async driver the project ships for it.
_ASYNC_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def async_database_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean asyncpg, ``sqlite://`` aiosqlite; a URL
    that names its driver (``postgresql+asyncpg://``) is kept as it is."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    return f"{_ASYNC_DRIVERS.get(scheme.lower(), scheme)}://{rest}"
