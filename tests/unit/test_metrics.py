"""The service's metrics: counted from the roster's own events, one registry per service."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from bridge.domain.entry import Refusal
from bridge.domain.events import (
    DomainEvent,
    MuteChanged,
    ParticipantJoined,
    Role,
    RoomEnded,
    TalkingChanged,
)
from bridge.domain.roster import Switchboard
from bridge.service.metrics import Metrics

T = 1_772_441_000.0


def values(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
    }


def fed(*events: DomainEvent) -> tuple[Metrics, Switchboard]:
    board = Switchboard()
    board.pbx_connected = True
    metrics = Metrics(lambda: board, lambda: True)
    for event in events:
        board.apply(event)
        metrics.on_event(event)
    return metrics, board


def test_live_figures_are_read_from_the_roster_when_scraped() -> None:
    metrics, _ = fed(
        ParticipantJoined("ga", "PJSIP/a-1", "5550101", Role.PARTICIPANT, False, T),
        ParticipantJoined("ga", "PJSIP/b-1", "5550102", Role.MODERATOR, False, T),
        ParticipantJoined("wg", "PJSIP/c-1", "5550103", Role.PARTICIPANT, False, T),
    )
    found = values(metrics)
    assert found[("iobridge_rooms_live", ())] == 2
    assert found[("iobridge_participants", ())] == 3
    assert found[("iobridge_ami_connected", ())] == 1


def test_a_turn_is_counted_once_however_many_spurts_it_has() -> None:
    join = ParticipantJoined("ga", "PJSIP/a-1", "5550101", Role.PARTICIPANT, False, T)
    metrics, _ = fed(
        join,
        TalkingChanged("ga", "PJSIP/a-1", True, T + 1),
        TalkingChanged("ga", "PJSIP/a-1", False, T + 2),
        TalkingChanged("ga", "PJSIP/a-1", True, T + 3),  # same turn: still unmuted
        MuteChanged("ga", "PJSIP/a-1", True, T + 4),
        MuteChanged("ga", "PJSIP/a-1", False, T + 5),
        TalkingChanged("ga", "PJSIP/a-1", True, T + 6),  # a new turn
    )
    assert values(metrics)[("iobridge_speaker_turns_total", (("lane", "open"),))] == 2


def test_pin_outcomes_are_counted_by_role_and_by_reason() -> None:
    metrics, _ = fed()
    metrics.pin_outcome(Refusal.WRONG_PIN)
    metrics.pin_outcome(Refusal.WRONG_PIN)
    found = values(metrics)
    assert found[("iobridge_pin_refusals_total", (("reason", "wrong-pin"),))] == 2
    assert found[("iobridge_pin_refusals_total", (("reason", "room-full"),))] == 0
    assert found[("iobridge_pin_admissions_total", (("role", "participant"),))] == 0


def test_hands_raised_add_up_over_rooms_and_go_when_a_call_ends() -> None:
    metrics, _ = fed()
    metrics.set_hands_raised("ga", 3)
    metrics.set_hands_raised("wg", 2)
    assert values(metrics)[("iobridge_hands_raised", ())] == 5
    metrics.on_event(RoomEnded("ga", T))
    assert values(metrics)[("iobridge_hands_raised", ())] == 2


def test_practice_rooms_stay_out_of_the_figures() -> None:
    board = Switchboard()
    metrics = Metrics(lambda: board, lambda: True, practice_rooms=lambda: {"drill"})
    for event in (
        ParticipantJoined("ga", "PJSIP/a-1", "5550101", Role.PARTICIPANT, False, T),
        ParticipantJoined("drill", "PJSIP/p-1", "practice001", Role.PARTICIPANT, False, T),
        TalkingChanged("drill", "PJSIP/p-1", True, T + 1),
    ):
        board.apply(event)
        metrics.on_event(event)
    metrics.set_hands_raised("drill", 7)
    metrics.set_hands_raised("ga", 1)
    metrics.turn_started("drill", "stack")
    found = values(metrics)
    assert found[("iobridge_rooms_live", ())] == 1
    assert found[("iobridge_participants", ())] == 1
    assert found[("iobridge_hands_raised", ())] == 1
    assert found[("iobridge_speaker_turns_total", (("lane", "stack"),))] == 0
    assert found[("iobridge_speaker_turns_total", (("lane", "open"),))] == 0


def test_two_services_in_one_process_keep_their_own_counts() -> None:
    first, _ = fed()
    second, _ = fed()
    first.ami_events.inc()
    assert values(first)[("iobridge_ami_events_total", ())] == 1
    assert values(second)[("iobridge_ami_events_total", ())] == 0


GRAFANA = Path(__file__).resolve().parents[2] / "contrib" / "grafana"


def test_the_grafana_dashboard_asks_only_for_metrics_that_exist() -> None:
    dashboard = json.loads((GRAFANA / "iobridge-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    asked = {
        name
        for expr in exprs
        for name in re.findall(r"\b((?:iobridge|process|python)_[a-z_]+)", expr)
    }
    metrics, _ = fed()
    metrics.action_done("lock", 0.01, "ok")  # a histogram shows its buckets once observed
    exported = {name for name, _ in values(metrics)}
    assert asked and asked <= exported, asked - exported
    assert {"process_resident_memory_bytes", "process_cpu_seconds_total"} <= asked


def test_the_grafana_dashboard_can_be_provisioned_from_its_file() -> None:
    dashboard = json.loads((GRAFANA / "iobridge-dashboard.json").read_text())
    # Provisioned dashboards get no import prompt: the data source is a variable of its own.
    assert "__inputs" not in dashboard
    (variable,) = dashboard["templating"]["list"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    sources = {json.dumps(p["datasource"]) for p in dashboard["panels"]}
    assert sources == {json.dumps({"type": "prometheus", "uid": f"${{{variable['name']}}}"})}
    provider = yaml.safe_load((GRAFANA / "iobridge.yaml").read_text())
    (entry,) = provider["providers"]
    assert provider["apiVersion"] == 1 and entry["type"] == "file" and entry["options"]["path"]


def test_the_process_itself_is_measured() -> None:
    exported = {name for name, _ in values(fed()[0])}
    assert {"process_resident_memory_bytes", "process_cpu_seconds_total", "python_info"} <= (
        exported
    )
