"""An alert's pure parts: the message's format check, each number's result from its call
out, and who may send one."""

from __future__ import annotations

import io
import wave

import pytest

from bridge.domain.accounts import Principal, Via
from bridge.domain.alerts import (
    AlertProgress,
    AlertResult,
    BadMessage,
    check_message,
    may_alert,
    result_of,
)
from bridge.domain.dialout import CallOut, CallState


def wav(rate: int = 8000, channels: int = 1, width: int = 2, seconds: float = 0.5) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(channels)
        file.setsampwidth(width)
        file.setframerate(rate)
        file.writeframes(b"\x00" * int(rate * seconds) * width * channels)
    return out.getvalue()


def test_an_8_khz_mono_16_bit_wav_passes_with_its_length() -> None:
    assert check_message(wav(seconds=1.5)) == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (
            wav(rate=44100, channels=2),
            "the message is 44100 Hz, stereo: expected a WAV file, 8000 Hz",
        ),
        (wav(width=1), "the message is 8-bit: expected"),
        (b"ID3\x03 an mp3 file" * 4, "the message is not a WAV file, 8000 Hz, mono, 16-bit"),
        (wav(seconds=0), "the message has no audio"),
        (wav(seconds=121), "the message is too long: at most 120 s"),
        (wav()[:30], "a WAV file without its format or audio"),
    ],
)
def test_a_message_asterisk_cannot_play_as_it_is_is_refused_in_one_line(
    data: bytes, said: str
) -> None:
    with pytest.raises(BadMessage) as refused:
        check_message(data)
    assert said in str(refused.value) and "\n" not in str(refused.value)


def call(state: CallState, **changes: object) -> CallOut:
    return CallOut(
        "dial-1", "", "+15557770001", "", "carrier", "admin", False, 0, state=state,
        alert="alert-0123456789ab", **changes,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("the_call", "result"),
    [
        (call(CallState.QUEUED), AlertResult.QUEUED),
        (call(CallState.RINGING), AlertResult.RINGING),
        (call(CallState.ANSWERED, channel="PJSIP/c-1"), AlertResult.ANSWERED),
        (call(CallState.ANSWERED, channel="PJSIP/c-1", heard=True), AlertResult.HEARD),
        (call(CallState.DECLINED, channel="PJSIP/c-1"), AlertResult.REACHED),
        (call(CallState.DECLINED, channel="PJSIP/c-1", heard=True), AlertResult.HEARD),
        (call(CallState.JOINED, channel="PJSIP/c-1", heard=True), AlertResult.JOINED),
        (call(CallState.DECLINED), AlertResult.DECLINED),
        (call(CallState.BUSY), AlertResult.BUSY),
        (call(CallState.NO_ANSWER), AlertResult.NO_ANSWER),
        (call(CallState.FAILED), AlertResult.FAILED),
        (call(CallState.CANCELLED, channel="PJSIP/c-1"), AlertResult.CANCELLED),
    ],
)
def test_each_number_s_result_says_how_far_its_call_went(
    the_call: CallOut, result: AlertResult
) -> None:
    assert result_of(the_call) is result


def test_the_admin_sends_any_alert_a_host_only_one_for_their_room() -> None:
    host = Principal("alice", rooms=frozenset({"ga"}))
    assistant = Principal("dana", rooms=frozenset({"ga"}), assisting=frozenset({"ga"}))
    everywhere = Principal("tester", all_rooms=True, via=Via.TOKEN)
    assert may_alert(Principal.admin(), None) and may_alert(Principal.admin(), "ga")
    assert may_alert(host, "ga") and not may_alert(host, "other") and not may_alert(host, None)
    assert not may_alert(assistant, "ga")
    assert may_alert(everywhere, "ga") and not may_alert(everywhere, None)


def test_an_alert_s_calls_share_the_trunk_s_slots_but_are_not_the_room_s_calls_out() -> None:
    from bridge.domain.dialout import Callee, DialBook
    from tests.unit.test_dialout import T, trunk

    book = DialBook({"carrier": trunk("carrier", ("+1555",), 2, 100.0)})
    number = "+15557770001"
    book.add("ga", [(Callee(number), "carrier")], asked_by="alice", confirm=True, retries=0, now=T)
    book.add(
        "ga", [(Callee(number), "carrier"), (Callee("+15557770002"), "carrier")],
        asked_by="alice", confirm=False, retries=0, now=T, alert="alert-1",
    )  # fmt: skip
    assert [c.number for c in book.calls_of("ga")] == [number]  # the same number, called twice
    assert len(book.calls_of_alert("alert-1")) == 2
    started = [c for now in (T + 1, T + 2, T + 3) for c in book.due(now)[0]]
    assert len(started) == 2 and book.up_on("carrier") == 2  # the trunk's cap holds for both
    assert [c.alert for c in book.cancel("ga", None, T + 4)] == [""]
    up = book.calls_of_alert("alert-1")[0]
    assert book.answered(up.id, "PJSIP/c-1", T + 4) is not None
    assert book.heard(up.id, T + 5) is not None and book.calls[up.id].heard
    assert {c.alert for c in book.cancel_alert("alert-1", T + 6)} == {"alert-1"}


def test_an_alert_s_progress_counts_who_was_reached_the_calls_made_and_retries_to_come() -> None:
    from bridge.domain.dialout import Callee, DialBook
    from tests.unit.test_dialout import T, trunk

    dial = DialBook({"carrier": trunk("carrier", ("+1555",), 10, 100.0)})
    numbers = ["+15557770001", "+15557770002", "+15557770003"]
    dial.add(
        "ga", [(Callee(n), "carrier") for n in numbers], asked_by="alice", confirm=False,
        retries=1, now=T, alert="alert-1", retry_after=30.0,
    )  # fmt: skip
    assert AlertProgress.of(dial.calls_of_alert("alert-1")).line() == (
        "0 of 3 numbers reached, none called yet"
    )
    answers, busy, silent = dial.due(T)[0] + dial.due(T + 1)[0] + dial.due(T + 2)[0]
    dial.answered(answers.id, "PJSIP/c-1", T + 3)
    dial.ended(busy.id, CallState.BUSY, T + 3)  # to be tried again at T + 33
    dial.ended(silent.id, CallState.NO_ANSWER, T + 3)
    progress = AlertProgress.of(dial.calls_of_alert("alert-1"))
    assert progress == AlertProgress(numbers=3, reached=1, attempts=3, retries_pending=2)
    assert progress.line() == "1 of 3 numbers reached in 3 calls, 2 retries pending"
    (again,), _ = dial.due(T + 33)
    dial.ended(again.id, CallState.BUSY, T + 34)  # its one retry spent; the other still due
    assert AlertProgress.of(dial.calls_of_alert("alert-1")).line() == (
        "1 of 3 numbers reached in 4 calls, 1 retry pending"
    )
    dial.cancel_alert("alert-1", T + 35)
    assert AlertProgress.of(dial.calls_of_alert("alert-1")).retries_pending == 0
