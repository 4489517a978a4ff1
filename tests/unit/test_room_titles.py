"""When a room's title prompt is made again (bridge.domain.room_titles): only when what it
says changes; an admin's recording wins over the synthesizer and survives the service's
start, which does not read the rooms file; without a synthesizer a stale prompt goes."""

from __future__ import annotations

import pytest

from bridge.domain.room_titles import TitleAction, TitleSource, title_action

SPOKEN = TitleSource("assembly", "The assembly", "en")
RECORDED = TitleSource("assembly", "The assembly", "en", recording="ab12")


def act(
    wanted: TitleSource,
    made_from: str | None,
    *,
    recordings_known: bool = True,
    can_speak: bool = True,
) -> TitleAction:
    return title_action(wanted, made_from, recordings_known=recordings_known, can_speak=can_speak)


def test_a_room_without_a_prompt_gets_its_title_spoken() -> None:
    assert act(SPOKEN, None) is TitleAction.SPEAK


def test_an_unchanged_title_is_not_spoken_again() -> None:
    assert act(SPOKEN, SPOKEN.stamp) is TitleAction.KEEP
    assert act(SPOKEN, SPOKEN.stamp, recordings_known=False) is TitleAction.KEEP


@pytest.mark.parametrize(
    "changed",
    [
        TitleSource("assembly", "The general assembly", "en"),
        TitleSource("assembly", "The assembly", "es"),
    ],
)
def test_a_new_title_or_language_is_spoken_again(changed: TitleSource) -> None:
    assert act(changed, SPOKEN.stamp) is TitleAction.SPEAK


def test_spacing_alone_is_no_change_of_title() -> None:
    assert TitleSource("a", "The  assembly\n", "en").stamp == SPOKEN.stamp


def test_a_recording_replaces_a_spoken_title_and_a_new_recording_replaces_the_old() -> None:
    assert act(RECORDED, SPOKEN.stamp) is TitleAction.COPY
    newer = TitleSource("assembly", "The assembly", "en", recording="cd34")
    assert act(newer, RECORDED.stamp) is TitleAction.COPY
    assert act(RECORDED, RECORDED.stamp) is TitleAction.KEEP


def test_the_services_start_keeps_a_recording_it_cannot_know_of() -> None:
    assert act(SPOKEN, RECORDED.stamp, recordings_known=False) is TitleAction.KEEP


def test_a_sync_without_the_recording_speaks_the_title_again() -> None:
    assert act(SPOKEN, RECORDED.stamp, recordings_known=True) is TitleAction.SPEAK


def test_without_a_synthesizer_a_stale_prompt_is_removed_and_none_is_made() -> None:
    changed = TitleSource("assembly", "Another title", "en")
    assert act(changed, SPOKEN.stamp, can_speak=False) is TitleAction.REMOVE
    assert act(changed, None, can_speak=False) is TitleAction.KEEP
    assert act(RECORDED, None, can_speak=False) is TitleAction.COPY  # needs no synthesizer
