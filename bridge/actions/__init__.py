"""Moderator actions, above the service: the table (``table``), what each takes
(``arguments``), and how one is run for someone (``perform``). The service never imports
this package; the web layer and the CLI read it."""

from bridge.actions.perform import check_right, perform
from bridge.actions.table import (
    ACTIONS,
    ROOM_ACTIONS,
    STACK_ACTIONS,
    Action,
    Context,
    Group,
    Result,
    of_group,
)

__all__ = [
    "ACTIONS",
    "ROOM_ACTIONS",
    "STACK_ACTIONS",
    "Action",
    "Context",
    "Group",
    "Result",
    "check_right",
    "of_group",
    "perform",
]
