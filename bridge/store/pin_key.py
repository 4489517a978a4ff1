"""The install's PIN key and the database's record of it (``bridge.domain.pins``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.pins import PinKey, PinKeyMismatch
from bridge.settings import Settings
from bridge.store.models import PinKeyCheck


def install_pin_key(settings: Settings) -> PinKey:
    """This install's key, made at first use in the state folder (mode 0600)."""
    return PinKey(settings.ensure_pin_key().get_secret_value().encode())


async def check_pin_key(session: AsyncSession, key: PinKey, *, adopt: bool = False) -> None:
    """Raise ``PinKeyMismatch`` when the database's PINs were hashed with another key.
    ``adopt``: a database that names no key yet takes this one (the first sync)."""
    row = await session.get(PinKeyCheck, 1)
    if row is None:
        if adopt:
            session.add(PinKeyCheck(id=1, fingerprint=key.fingerprint))
        return
    if row.fingerprint != key.fingerprint:
        raise PinKeyMismatch("the rooms' PINs in the database were hashed with another PIN key")


async def replace_pin_key(session: AsyncSession, key: PinKey) -> None:
    """From now on the PINs are hashed with ``key`` (the caller rewrites every PIN)."""
    row = await session.get(PinKeyCheck, 1)
    if row is None:
        session.add(PinKeyCheck(id=1, fingerprint=key.fingerprint))
    else:
        row.fingerprint = key.fingerprint
