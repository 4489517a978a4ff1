"""A request body as an action's arguments (the API and the panel's one action route both
read bodies this way): whatever arrives, a named 400, never an exception of another kind."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, strategies as st

from bridge.actions.arguments import Move, OnParticipant
from bridge.errors import BadField
from bridge.web.bodies import read_object


def test_a_good_body_is_read() -> None:
    found = read_object(b'{"channel": "PJSIP/anonymous-00000001"}', None, OnParticipant)
    assert found == OnParticipant(channel="PJSIP/anonymous-00000001")
    assert read_object('{"channel": "PJSIP/a-1"}'.encode("utf-16"), "utf-16", OnParticipant)


@pytest.mark.parametrize(
    ("raw", "charset"),
    [
        (b"{}", "klingon"),
        (b"{}", "hex"),
        (b"\xff", None),
        (b"[" * 50_000, None),
        (b'{"channel": "all"}', None),
        (b'{"channel": "PJSIP/a-1", "place": 1' + b"0" * 10_000 + b"}", None),
        (b"null", None),
    ],
)
def test_a_bad_body_is_a_bad_field(raw: bytes, charset: str | None) -> None:
    with pytest.raises(BadField):
        read_object(raw, charset, Move)


@given(st.binary(max_size=300), st.sampled_from([None, "utf-8", "latin-1", "utf-16", "nope"]))
def test_no_body_raises_anything_but_a_bad_field(raw: bytes, charset: str | None) -> None:
    with contextlib.suppress(BadField):
        read_object(raw, charset, Move)
