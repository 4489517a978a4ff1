"""A moderator's ``rooms:`` entries: a room name (the moderator is its host), or a mapping
``{room: NAME, role: host|assistant}``. The mapping form is read here, node by node, so
that a wrong role or key names its own line."""

from __future__ import annotations

from collections.abc import Callable

import yaml

from bridge.domain.accounts import Right
from bridge.domain.rooms import RoomGrant
from bridge.roomsfile.nodes import STR_TAG, describe, did_you_mean, line_of, unknown_key

ROLES = tuple(right.value for right in Right)  # host, assistant
GRANT_KEYS = ("room", "role")

Report = Callable[[int, str], None]  # (line, message)


def grant_of(node: yaml.MappingNode, report: Report) -> RoomGrant | None:
    """The grant a ``{room, role}`` mapping makes; None (each problem reported) if wrong."""
    found: dict[str, yaml.Node] = {}
    good = True
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key not in GRANT_KEYS:
            report(line_of(key_node), unknown_key(str(key), GRANT_KEYS))
            good = False
        elif not _is_text(value_node):
            report(line_of(value_node), f"{key}: must be text, got {describe(value_node)}")
            good = False
        else:
            found[key] = value_node
    if "room" not in found:
        if good:
            report(line_of(node), "required key 'room' is missing")
        return None
    role = str(found["role"].value) if "role" in found else Right.HOST.value
    if role not in ROLES:
        message = f"role: no role {role!r} (expected one of: {', '.join(ROLES)})"
        report(line_of(found["role"]), message + did_you_mean(role, ROLES))
        return None
    return RoomGrant(str(found["room"].value), Right(role)) if good else None


def _is_text(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == STR_TAG and bool(node.value)
