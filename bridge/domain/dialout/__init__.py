"""Dial-out: moderators calling phones into their room through a trunk (``calls``), and the
limits every number passes first (``limits``)."""

from bridge.domain.dialout.calls import (
    KEEP_SECONDS,
    KEY_SECONDS,
    RETRY_SECONDS,
    RING_SECONDS,
    CallOut,
    CallState,
    DialBook,
    DialOutChanged,
    state_for_cause,
)
from bridge.domain.dialout.limits import (
    Callee,
    DialRefused,
    TrunkPacer,
    check_daily,
    choose_trunk,
    read_callees,
)

__all__ = [
    "KEEP_SECONDS",
    "KEY_SECONDS",
    "RETRY_SECONDS",
    "RING_SECONDS",
    "CallOut",
    "CallState",
    "Callee",
    "DialBook",
    "DialOutChanged",
    "DialRefused",
    "TrunkPacer",
    "check_daily",
    "choose_trunk",
    "read_callees",
    "state_for_cause",
]
