"""A participant's channel name: what a moderator may name, and what ConfBridge would read
as the whole room. Asterisk's adapter (``bridge.asterisk.conference``) and the actions'
arguments (``bridge.actions``) both ask here, so the rule is written once."""

from __future__ import annotations

import re

CHANNEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.@:;+-]{0,119}")  # PJSIP/x-0001, Local/x@ctx-1;2
# ConfBridge reads these as "every participant" and "everyone": never a channel.
CONFBRIDGE_KEYWORDS = frozenset({"all", "participants"})


def names_whole_room(name: str) -> bool:
    """Would ConfBridge act on every participant, given ``name`` as a channel?"""
    return name.lower() in CONFBRIDGE_KEYWORDS


def channel_problem(name: str) -> str | None:
    """Why ``name`` cannot be a participant's channel; None when it can."""
    if not CHANNEL.fullmatch(name):
        return "not a channel name (expected something like PJSIP/anonymous-00000001)"
    if names_whole_room(name):
        return f"'{name}' is a ConfBridge keyword, not a participant's channel"
    return None
