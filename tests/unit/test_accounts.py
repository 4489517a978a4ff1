"""Who may moderate what, and the login throttle: pure, no clock, no database."""

from __future__ import annotations

from hypothesis import given, strategies as st

from bridge.domain.accounts import (
    Attempt,
    LoginThrottle,
    Principal,
    Right,
    ThrottleRules,
    Via,
    network_of,
)
from bridge.service.accounts import PanelSession, csrf_token


def test_a_moderator_may_moderate_only_the_rooms_granted() -> None:
    bob = Principal.from_room_list("bob", ("ga", "wg"), Via.SESSION)
    assert bob.may_moderate("ga") and bob.may_moderate("wg")
    assert not bob.may_moderate("finance")
    assert bob.rooms_of(["finance", "ga", "wg"]) == ["ga", "wg"]


def test_every_moderator_is_a_host_of_their_rooms_with_every_right_there_and_none_elsewhere() -> (
    None
):
    bob = Principal.from_room_list("bob", ("ga",), Via.SESSION)
    assert bob.role_in("ga") is Right.HOST and bob.role_in("wg") is None
    assert bob.may(Right.HOST, "ga") and bob.may(Right.ASSISTANT, "ga")
    assert not bob.may(Right.HOST, "wg") and not bob.may(Right.ASSISTANT, "wg")


def test_a_star_grants_every_room_even_ones_added_later() -> None:
    alice = Principal.from_room_list("alice", ("*",), Via.TOKEN)
    assert alice.all_rooms and alice.may_moderate("a-room-from-next-year")
    assert alice.via is Via.TOKEN


def test_the_admin_token_is_the_admin_with_every_room() -> None:
    admin = Principal.admin()
    assert admin.username == "admin" and admin.may_moderate("anything")


def test_a_read_only_scope_sees_the_rooms_but_holds_no_right_in_them() -> None:
    bob = Principal.from_room_list("bob", ("ga", "wg"), Via.TOKEN).within(None, read_only=True)
    assert bob.may_moderate("ga") and bob.rooms_of(["ga", "wg"]) == ["ga", "wg"]
    assert not bob.may(Right.HOST, "ga") and not bob.may(Right.ASSISTANT, "wg")


def test_a_room_scope_narrows_even_a_star_and_never_widens() -> None:
    alice = Principal.from_room_list("alice", ("*",), Via.TOKEN).within(frozenset({"ga"}), False)
    assert not alice.all_rooms and alice.rooms_of(["ga", "wg", "finance"]) == ["ga"]
    assert alice.may(Right.HOST, "ga") and not alice.may(Right.HOST, "wg")
    bob = Principal.from_room_list("bob", ("ga",), Via.TOKEN).within(frozenset({"ga", "wg"}), False)
    assert bob.rooms == frozenset({"ga"})  # wg was never bob's: the token cannot grant it


@given(
    st.frozensets(st.sampled_from("abcde")),
    st.one_of(st.none(), st.frozensets(st.sampled_from("abcdef"))),
    st.booleans(),
)
def test_a_scope_is_never_more_than_its_moderator(
    own: frozenset[str], scope: frozenset[str] | None, read_only: bool
) -> None:
    moderator = Principal("m", rooms=own, via=Via.TOKEN)
    scoped = moderator.within(scope, read_only)
    for room in "abcdef":
        assert scoped.may_moderate(room) <= moderator.may_moderate(room)
        assert scoped.may(Right.HOST, room) <= moderator.may(Right.HOST, room)
        assert not (read_only and scoped.may(Right.ASSISTANT, room))


def test_five_wrong_passwords_for_one_name_block_that_name_for_the_window() -> None:
    throttle = LoginThrottle(ThrottleRules(per_username=5, per_address=100, window=900))
    for second in range(5):
        assert throttle.retry_after("alice", "10.0.0.1", second) == 0
        throttle.failed("alice", "10.0.0.1", second)
    assert throttle.retry_after("alice", "10.0.0.2", 10) == 890  # from any address
    assert throttle.retry_after("ALICE ", "10.0.0.2", 10) == 890  # however it is typed
    assert throttle.retry_after("bob", "10.0.0.1", 10) == 0
    assert throttle.retry_after("alice", "10.0.0.1", 901) == 0  # the first has aged out


def test_an_address_guessing_many_names_is_blocked() -> None:
    throttle = LoginThrottle(ThrottleRules(per_username=5, per_address=3, window=60))
    for n in range(3):
        throttle.failed(f"user{n}", "10.0.0.9", 0)
    assert throttle.retry_after("someone-new", "10.0.0.9", 1) == 59
    assert throttle.retry_after("someone-new", "10.0.0.8", 1) == 0


def test_a_good_login_clears_the_names_failures_but_not_the_addresss() -> None:
    throttle = LoginThrottle(ThrottleRules(per_username=2, per_address=2, window=60))
    throttle.failed("alice", "10.0.0.1", 0)
    attempt = throttle.reserve("alice", "10.0.0.1", 0.5)
    assert isinstance(attempt, Attempt)
    throttle.succeeded(attempt)
    throttle.failed("alice", "10.0.0.1", 1)
    assert throttle.retry_after("alice", "10.0.0.2", 2) == 0
    assert throttle.retry_after("carol", "10.0.0.1", 2) == 58  # the first ages out at 60


def test_guesses_sent_at_once_are_counted_before_any_is_checked() -> None:
    throttle = LoginThrottle(ThrottleRules(per_username=5, per_address=100, window=900))
    # Twelve logins arrive before any password check has finished: five are let through.
    answers = [throttle.reserve("alice", "203.0.113.9", 1.0) for _ in range(12)]
    assert sum(isinstance(answer, Attempt) for answer in answers) == 5
    assert all(answer == 900 for answer in answers[5:])


def test_a_right_password_takes_its_own_count_back() -> None:
    throttle = LoginThrottle(ThrottleRules(per_username=5, per_address=3, window=60))
    for second in range(5):
        attempt = throttle.reserve(f"user{second}", "10.0.0.1", second)
        assert isinstance(attempt, Attempt)
        throttle.succeeded(attempt)
    assert throttle.retry_after("anyone", "10.0.0.1", 6) == 0


def test_guessing_a_name_from_elsewhere_does_not_lock_it_out_of_its_own_network() -> None:
    throttle = LoginThrottle(ThrottleRules(per_username=5, per_address=100, window=900))
    for second in range(5):
        throttle.failed("alice", f"203.0.113.{second}", second)
    assert throttle.retry_after("alice", "203.0.113.200", 10) > 0  # the guesser's /24
    assert throttle.retry_after("alice", "198.51.100.7", 10) == 0  # alice's office
    for second in range(5):
        throttle.failed("bob", f"2001:db8:1:2::{second}", second)
    assert throttle.retry_after("bob", "2001:db8:1:2:ffff::1", 10) > 0  # the same /64
    assert throttle.retry_after("bob", "2001:db8:1:3::1", 10) == 0


def test_an_address_that_logged_in_before_still_passes_while_its_network_guesses() -> None:
    throttle = LoginThrottle(ThrottleRules(per_username=5, per_address=100, window=900))
    attempt = throttle.reserve("alice", "10.0.0.5", 0)
    assert isinstance(attempt, Attempt)
    throttle.succeeded(attempt)
    for second in range(1, 6):
        throttle.failed("alice", "10.0.0.66", second)  # a guesser on the same Wi-Fi
    assert throttle.retry_after("alice", "10.0.0.66", 10) > 0
    assert throttle.retry_after("alice", "10.0.0.5", 10) == 0


def test_an_ipv6_client_counts_as_one_address_for_its_whole_64() -> None:
    throttle = LoginThrottle(ThrottleRules(per_username=100, per_address=3, window=60))
    for n in range(3):
        throttle.failed(f"user{n}", f"2001:db8::{n + 1}", 0)
    assert throttle.retry_after("someone", "2001:db8::ffff", 1) == 59
    assert network_of("10.1.2.3") == "10.1.2.0/24"
    assert network_of("::ffff:10.1.2.3") == "10.1.2.0/24"
    assert network_of("2001:db8::1") == "2001:db8::/64"


@given(
    failures=st.lists(st.floats(min_value=0, max_value=3000), max_size=40),
    now=st.floats(min_value=0, max_value=4000),
)
def test_a_login_is_blocked_exactly_while_the_window_holds_the_limit(
    failures: list[float], now: float
) -> None:
    rules = ThrottleRules(per_username=4, per_address=1000, window=600)
    throttle = LoginThrottle(rules)
    failures = sorted(failures)
    for at in failures:
        throttle.failed("alice", "a", at)
    in_window = [at for at in failures if now - rules.window < at <= now]
    later = [at for at in failures if at > now]
    wait = throttle.retry_after("alice", "a", now)
    if later:
        return  # asked about the past: only that it answers is required
    assert (wait > 0) == (len(in_window) >= rules.per_username)
    if wait > 0:
        # Waiting that long is enough, and not a moment less would do.
        assert throttle.retry_after("alice", "a", now + wait) == 0


def test_the_csrf_token_belongs_to_its_session_and_is_checked_in_constant_time() -> None:
    session = PanelSession(Principal("alice"), "token-a", csrf_token("token-a"))
    assert session.csrf_matches(csrf_token("token-a"))
    assert not session.csrf_matches(csrf_token("token-b"))
    assert not session.csrf_matches("")
    assert not session.csrf_matches(None)
    assert "token-a" not in repr(session) and csrf_token("token-a") not in repr(session)


def test_while_a_room_is_held_by_another_host_a_host_assists_there_only() -> None:
    alice = Principal.from_room_list("alice", ("ga", "wg"), Via.SESSION)
    held = alice.stepping_down("ga", holder="bob")
    assert held.role_in("ga") is Right.ASSISTANT and held.role_in("wg") is Right.HOST
    assert not held.may(Right.HOST, "ga") and held.may(Right.ASSISTANT, "ga")
    assert alice.stepping_down("ga", holder="alice") == alice
    assert alice.stepping_down("ga", holder=None) == alice
    assert Principal.admin().stepping_down("ga", holder="bob").may(Right.HOST, "ga")


def test_a_tokens_scope_keeps_the_assistant_role() -> None:
    dana = Principal.from_room_list("dana", ("ga", "wg"), Via.TOKEN, assisting=("ga",))
    scoped = dana.within(frozenset({"ga"}), read_only=False)
    assert scoped.role_in("ga") is Right.ASSISTANT and scoped.role_in("wg") is None
