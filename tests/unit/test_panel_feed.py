"""A panel's mailbox: a browser that falls behind gets the whole room again, never an
ever-growing backlog."""

from __future__ import annotations

from typing import Any

from bridge.domain.accounts import Principal
from bridge.service.accounts import PanelSession
from bridge.web.panel.live import BACKLOG, Viewer


def viewer() -> Viewer:
    ws: Any = None  # the mailbox never touches the socket
    return Viewer(ws, PanelSession(Principal("alice"), "token", "csrf"))


def test_a_new_panel_owes_the_whole_room_and_skips_versions_until_it_has_it() -> None:
    panel = viewer()
    panel.offer(1, "delta 1")
    assert panel.owes_whole and not panel.pending


def test_a_panel_keeps_up_to_the_backlog_then_owes_the_whole_room_again() -> None:
    panel = viewer()
    panel.owes_whole = False
    for version in range(1, BACKLOG + 1):
        panel.offer(version, f"delta {version}")
    assert len(panel.pending) == BACKLOG and not panel.owes_whole
    panel.offer(BACKLOG + 1, "one too many")
    assert panel.owes_whole and not panel.pending
    assert panel.wake.is_set()
