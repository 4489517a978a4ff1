"""A breakout across a service restart: saved as ``to_state``, read back by ``from_state``,
then made to agree with where Asterisk has everyone (``resume``)."""

from __future__ import annotations

import json

from bridge.domain.breakouts import Breakout, Latecomers, Member, Move, StintEnded, split

T = 1_764_100_000.0


def callers(n: int) -> list[Member]:
    return [Member(f"PJSIP/a-{i:04x}", f"55500{i:02d}", f"Caller {i}") for i in range(1, n + 1)]


def started(latecomers: Latecomers = Latecomers.SMALLEST) -> Breakout:
    """Four callers in two groups: a-0001, a-0002 in group-1; a-0003, a-0004 in group-2."""
    plan = split("ga", callers(4), groups=2, order=[m.channel for m in callers(4)])
    breakout, _ = Breakout.start("ga", plan, T, 10, latecomers)
    return breakout


def restarted(breakout: Breakout) -> Breakout:
    """Through JSON, as the database keeps it."""
    return Breakout.from_state(json.loads(json.dumps(breakout.to_state())))


def where(breakout: Breakout) -> dict[str, str | None]:
    return {m.channel: breakout.group_of(m.channel) for m in breakout.members()}


def as_they_were(breakout: Breakout) -> dict[str, tuple[Member, str | None]]:
    return {m.channel: (m, breakout.group_of(m.channel)) for m in breakout.members()}


def test_a_saved_breakout_comes_back_with_its_groups_clock_warnings_and_broadcast() -> None:
    breakout = started()
    breakout.set_broadcast(True)
    breakout.tick(T + 480)  # "two minutes left" played
    breakout.ask_moderator("PJSIP/a-0003")
    breakout.leave("PJSIP/a-0002", T + 490)  # dropped: goes back to group-1 on return
    back = restarted(breakout)
    assert back.to_state() == breakout.to_state()
    assert back.as_json() == breakout.as_json()
    assert back.broadcast and back.warned == {120} and back.homes == {"5550002": "group-1"}
    assert back.next_due() == T + 540  # "one minute left" still to come


def test_a_restart_with_everyone_where_they_were_changes_nothing() -> None:
    breakout = started()
    back = restarted(breakout)
    assert back.resume(as_they_were(breakout), T + 60) == []
    assert where(back) == where(breakout)


def test_who_hung_up_during_the_restart_is_out_of_their_group_and_kept_a_place() -> None:
    breakout = restarted(started())
    present = as_they_were(breakout)
    del present["PJSIP/a-0001"]
    effects = breakout.resume(present, T + 60)
    assert [(e.channel, e.group, e.ended_at) for e in effects if isinstance(e, StintEnded)] == [
        ("PJSIP/a-0001", "group-1", T + 60)
    ]
    assert not [e for e in effects if isinstance(e, Move)]
    assert breakout.group_of("PJSIP/a-0001") is None
    assert breakout.homes == {"5550001": "group-1"}


def test_someone_asterisk_has_in_another_group_is_in_that_group() -> None:
    breakout = restarted(started())
    present = as_they_were(breakout)
    present["PJSIP/a-0001"] = (present["PJSIP/a-0001"][0], "group-2")
    effects = breakout.resume(present, T + 60)
    assert breakout.group_of("PJSIP/a-0001") == "group-2"
    assert not [e for e in effects if isinstance(e, Move)]  # Asterisk has them there already
    assert [e.group for e in effects if isinstance(e, StintEnded)] == ["group-1"]


def test_a_caller_still_in_the_main_room_is_sent_to_their_group_again() -> None:
    breakout = restarted(started())
    present = as_they_were(breakout)
    present["PJSIP/a-0004"] = (present["PJSIP/a-0004"][0], None)  # the move had not landed
    assert breakout.resume(present, T + 60) == [Move("ga", "PJSIP/a-0004", "group-2")]


def test_a_caller_who_joined_during_the_restart_is_a_latecomer() -> None:
    breakout = restarted(started())
    present = as_they_were(breakout)
    late = Member("PJSIP/late", "5551234", "Late")
    host = Member("PJSIP/host", "5550000", "Host", moderator=True)
    present |= {late.channel: (late, None), host.channel: (host, None)}
    assert breakout.resume(present, T + 60) == [Move("ga", "PJSIP/late", "group-1")]


def test_a_caller_a_moderator_sent_back_stays_in_the_main_room_after_a_restart() -> None:
    breakout = started()
    breakout.move(callers(4)[0], "main", T + 30)
    present = {**as_they_were(breakout), "PJSIP/a-0001": (callers(4)[0], None)}
    back = restarted(breakout)
    assert back.resume(present, T + 60) == []
    assert back.group_of("PJSIP/a-0001") is None


def test_latecomers_kept_in_the_main_room_stay_there_after_a_restart() -> None:
    breakout = restarted(started(Latecomers.MAIN))
    late = Member("PJSIP/late", "5551234", "Late")
    present = {**as_they_were(breakout), late.channel: (late, None)}
    assert breakout.resume(present, T + 60) == []


def test_a_breakout_whose_end_passed_during_the_restart_ends_and_brings_everyone_back() -> None:
    breakout = started()
    breakout.set_broadcast(True)
    back = restarted(breakout)
    present = as_they_were(breakout)
    del present["PJSIP/a-0002"]  # hung up meanwhile: nobody to move
    effects = back.resume(present, T + 601)
    assert not back.running and back.members() == [] and not back.broadcast
    moves = [e for e in effects if isinstance(e, Move)]
    assert sorted(m.channel for m in moves) == ["PJSIP/a-0001", "PJSIP/a-0003", "PJSIP/a-0004"]
    assert all(m.group is None for m in moves)
    assert len([e for e in effects if isinstance(e, StintEnded)]) == 4
