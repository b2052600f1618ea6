"""The simulator's pure parts: routines, generated homes, payloads, the MQTT packets, the plot."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

from firmware_sim.fleet import HomeMix, make_homes
from firmware_sim.home import Routine, plan_day
from firmware_sim.kinds import KINDS, z2m_state
from firmware_sim.mqtt import Will, connect_packet, publish_packet

from lab.bench.scaling import largest_holding, plot


def test_a_day_runs_from_waking_to_the_next_wake_up_in_order_and_varies() -> None:
    routine = Routine()
    days = []
    for seed in range(5):
        plan, next_wake = plan_day(routine, random.Random(seed), 0.0, 6.5 * 3600)
        times = [t for t, _ in plan]
        assert times == sorted(times)
        assert plan[0][1] == "bedroom" and "bed" in {p for _, p in plan}
        assert {"bathroom", "kitchen", "living"} <= {p for _, p in plan}
        assert 86400 + 5 * 3600 < next_wake < 86400 + 8 * 3600
        days.append(plan)
    assert len({len(d) for d in days}) > 1, "days differ"


def test_generated_homes_are_deterministic_and_prefix_stable() -> None:
    a = make_homes(30, seed=4, mix=HomeMix(wearable_share=0.5))
    b = make_homes(60, seed=4, mix=HomeMix(wearable_share=0.5))
    assert a == b[:30], "the first N homes of a larger city are the same homes"
    ids = [d.id for h in b for d in h.devices]
    assert len(ids) == len(set(ids)) and all(len(i) <= 64 for i in ids)
    assert any(d.imu_hz in (25.0, 50.0, 100.0) for h in b for d in h.devices)


def test_zigbee2mqtt_contact_is_true_when_closed() -> None:
    assert z2m_state("door", {"open": True}, 80, 100)["contact"] is False
    assert z2m_state("door", {"open": False}, 80, 100)["contact"] is True
    assert z2m_state("sos_button", {"action": "emergency"}, 80, 100)["action"] == "emergency"


def test_zigbee_devices_publish_the_shapes_zigbee2mqtt_publishes_for_their_model() -> None:
    """Same properties as the converter-library fixture of the model; action only when pressed."""
    fixtures = json.loads((Path(__file__).parents[1] / "devices" / "zigbee" / "fixtures.json").read_text())
    shapes = {d["model"]: set(d["steps"][-1]["payload"]) - {"action"} for d in fixtures["devices"]}
    simulated = {name: kind for name, kind in KINDS.items() if kind.z2m_model}
    assert {"sos_button", "pir", "door", "smoke", "gas", "water", "radar"} <= set(simulated)
    for name, kind in simulated.items():
        assert set(z2m_state(name, {}, 80, 100)) == shapes[kind.z2m_model], name
    assert "action" not in z2m_state("sos_button", {}, 80, 100)
    radar = z2m_state("radar", {"presence": True, "fall_down_status": "fall"}, 100, 100)
    assert radar["occupancy"] is True and radar["fall_down_status"] == "fall" and radar["static_dwell_alarm"] is None


def test_radar_homes_only_when_asked_and_the_same_homes_otherwise() -> None:
    plain = make_homes(20, seed=4)
    assert plain == make_homes(20, seed=4, mix=HomeMix(radar_share=0.0))
    radar = make_homes(3, seed=4, mix=HomeMix(radar_share=1.0))
    assert all(h.find("radar", "living room") is not None for h in radar)
    assert all(
        d.model == "MIR-HE200-TY" and d.registry_type == "fall_radar"
        for h in radar
        for d in h.devices
        if d.kind == "radar"
    )


def test_mqtt_packets() -> None:
    packet = connect_packet("dev-1", 60, True, Will("t/status", b'{"online":false}'), "u", "p")
    assert packet[0] == 0x10
    flags = packet[2 + 6 + 1]  # fixed header (1 + 1 length byte), "MQTT" (6), level (1)
    assert flags == 0x02 | 0x04 | 0x08 | 0x20 | 0x80 | 0x40
    pub = publish_packet("a/b", b"xyz", 1, False, 7)
    assert pub[0] == 0x32 and pub[1] == len(pub) - 2
    assert struct.unpack("!H", pub[2:4]) == (3,) and pub[7:9] == b"\x00\x07"


def test_scaling_plot_and_largest_n(tmp_path: Path) -> None:
    rows = [
        {"homes": n, "offered_msg_per_s": n, "processed_msg_per_s": n, "alarm_p99_ms": p, "alarm_presses": 5,
         "alarm_on_console": 5}
        for n, p in ((100, 50.0), (1000, 400.0), (5000, 3000.0))
    ]  # fmt: skip
    assert largest_holding(rows) == 1000
    plot(rows, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
