"""PINs at rest: what the database keeps of a room's PIN is a keyed hash of it.

HMAC-SHA256 with a per-install key (``pin-key`` in the state folder, made once, mode 0600):
the same digits always give the same hash, so a typed PIN is found by hashing it (the
lookup stays exact, a PIN given to two rooms still breaks the unique index), while a stolen
copy of the database alone hands out no room: with at most 10^12 PINs, an unkeyed hash would
be reversed by trying them all; without the key there is nothing to try them against.

The key's *fingerprint* (an HMAC of a fixed text, which reveals nothing of the key) is kept
in the database too, so that a process hashing with another key (a CLI run with another
state folder than the service's) is caught instead of writing hashes no PIN matches.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

HASH_LENGTH = 64  # hex characters of a SHA-256
_FINGERPRINT_TEXT = b"io-bridge pin key fingerprint v1"


@dataclass(frozen=True)
class PinKey:
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("a PIN key needs at least 16 bytes")

    def hash(self, digits: str) -> str:
        """The keyed hash of a PIN, as stored (64 hex characters)."""
        return hmac.new(self.secret, digits.encode("utf-8"), hashlib.sha256).hexdigest()

    def hash_optional(self, digits: str | None) -> str | None:
        return None if digits is None else self.hash(digits)

    @property
    def fingerprint(self) -> str:
        return hmac.new(self.secret, _FINGERPRINT_TEXT, hashlib.sha256).hexdigest()


class PinKeyMismatch(Exception):
    """The database's PINs were hashed with another key than this process has."""
