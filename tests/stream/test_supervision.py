"""DeviceSupervisor: last will, silent heartbeat devices, low battery, unmonitored homes."""

from __future__ import annotations

from devices.events import Event, Stream
from lab.sensor_events import sensor_event
from stream.core import StreamCore
from stream.detections import DetectionKind
from stream.device_table import Binding
from stream.supervision import DeviceSupervisor, SupervisionConfig

M = 60_000
H = 60 * M


def status(t: int, device: str = "pir1", dtype: str = "pir", **values: object) -> Event:
    return sensor_event(Stream.STATUS, t, device, "ann", values, device_type=dtype)


def motion(t: int, device: str = "pir1") -> Event:
    return sensor_event(Stream.MOTION, t, device, "ann", {"occupancy": True}, device_type="pir", location="hall")


def test_last_will_offline_once_and_unmonitored() -> None:
    sup = DeviceSupervisor()
    found = sup.process([motion(0), status(M, online=False), status(2 * M, online=False)], 2 * M)
    kinds = [d.kind for d in found]
    assert kinds.count(DetectionKind.DEVICE_OFFLINE) == 1 and kinds.count(DetectionKind.UNMONITORED) == 1
    offline = next(d for d in found if d.kind is DetectionKind.DEVICE_OFFLINE)
    assert offline.key == f"device_offline:pir1:{M}" and offline.ts_ms == M
    assert sup.advance(3 * M) == []
    # back online: monitored again; a second outage is a new episode
    assert sup.process([motion(4 * M)], 4 * M) == []
    again = sup.process([status(5 * M, online=False)], 5 * M)
    assert {d.kind for d in again} == {DetectionKind.DEVICE_OFFLINE, DetectionKind.UNMONITORED}


def test_silence_by_device_class_only_for_heartbeat_devices() -> None:
    config = SupervisionConfig(silent_battery_s=2 * 3600, silent_mains_s=600)
    sup = DeviceSupervisor(config)
    sup.process(
        [status(0, battery=90), status(0, device="plug", dtype="plug", online=True), motion(0, device="quiet")], 0
    )
    assert sup.advance(9 * M) == []
    found = sup.advance(11 * M)
    assert [(d.kind, d.device_id) for d in found] == [(DetectionKind.DEVICE_SILENT, "plug")]
    assert found[0].key == "device_silent:plug:0" and found[0].details["threshold_s"] == 600
    found = sup.advance(2 * H + M)
    assert [(d.kind, d.device_id) for d in found] == [(DetectionKind.DEVICE_SILENT, "pir1")]
    assert sup.advance(50 * H) == []  # "quiet" never sent a heartbeat: its silence is the resident's


def test_a_retained_copy_sent_again_is_no_sign_of_life() -> None:
    """The broker sends a device's retained status again on every subscription (a restart, a reconnect): with no
    time of its own it arrives stamped now, and it restarted a dead device's silence clock each time."""
    sup = DeviceSupervisor(SupervisionConfig(silent_mains_s=600))
    sup.process([status(0, device="plug", dtype="plug", online=True)], 0)
    sup.process([status(8 * M, device="plug", dtype="plug", online=True, retained=True)], 8 * M)
    found = sup.advance(11 * M)
    assert [(d.kind, d.key) for d in found] == [(DetectionKind.DEVICE_SILENT, "device_silent:plug:0")]
    sup.process([status(12 * M, device="new", dtype="plug", online=True, retained=True)], 12 * M)
    assert sup.advance(21 * M) == []  # a device first known by its retained copy: its clock starts there
    assert [d.device_id for d in sup.advance(23 * M)] == ["new"]


def test_low_battery_with_hysteresis_and_restore() -> None:
    sup = DeviceSupervisor()
    assert [d.kind for d in sup.process([status(0, battery=15)], 0)] == [DetectionKind.LOW_BATTERY]
    assert sup.process([status(M, battery=14), status(2 * M, battery=25)], 2 * M) == []
    core = StreamCore([sup])
    restored = StreamCore([DeviceSupervisor()])
    restored.restore(core.snapshot())
    assert restored.process({"ann": [status(3 * M, battery=12)]}, 3 * M) == []  # episode still open
    found = restored.process({"ann": [status(4 * M, battery=35), status(5 * M, battery=10)]}, 5 * M)
    assert [d.kind for d in found] == [DetectionKind.LOW_BATTERY]
    assert found[0].key == f"low_battery:pir1:{5 * M}"


def test_a_zigbee_battery_low_flag_without_a_level_is_a_low_battery() -> None:
    sup = DeviceSupervisor()
    found = sup.process([status(0, device="btn", dtype="sos_button", battery_low=True)], 0)
    assert [(d.kind, d.device_id) for d in found] == [(DetectionKind.LOW_BATTERY, "btn")]
    assert sup.process([status(M, device="btn", dtype="sos_button", battery_low=False)], M) == []
    again = sup.process([status(2 * M, device="btn", dtype="sos_button", battery_low=True)], 2 * M)
    assert [d.kind for d in again] == [DetectionKind.LOW_BATTERY]  # recovered in between: a new episode


def test_mains_powered_vitals_and_gas_devices_fall_silent_after_the_mains_limit() -> None:
    """Both are mains-powered and heartbeat every few minutes (devices/catalogue.py): ten minutes of
    silence means power or link is lost, not the six hours a battery sensor gets."""
    sup = DeviceSupervisor()
    sup.process(
        [
            status(0, device="vitals1", dtype="vitals", online=True),
            status(0, device="gas1", dtype="gas", online=True),
            status(0, device="smoke1", dtype="smoke", online=True),
        ],
        0,
    )
    assert sup.advance(9 * M) == []
    found = sup.advance(11 * M)
    assert sorted((d.kind, d.device_id) for d in found) == [
        (DetectionKind.DEVICE_SILENT, "gas1"),
        (DetectionKind.DEVICE_SILENT, "vitals1"),
    ]
    assert all(d.details["threshold_s"] == 600 for d in found)
    assert [d.device_id for d in sup.advance(6 * H + M)] == ["smoke1"]  # battery-powered


def test_a_mains_type_that_reports_a_battery_gets_the_battery_limit() -> None:
    sup = DeviceSupervisor()
    sup.process([status(0, device="hub1", dtype="hub", battery=80)], 0)
    assert sup.advance(11 * M) == []
    assert [d.device_id for d in sup.advance(6 * H + M)] == ["hub1"]


def test_the_overview_reads_what_supervision_holds() -> None:
    sup = DeviceSupervisor()
    sup.process([motion(0), status(0, device="vitals1", dtype="vitals", battery=15)], 0)
    sup.process([status(M, online=False)], M)
    sup.advance(12 * M)
    health = sup.device_health(["pir1", "vitals1", "never-heard"])
    assert set(health) == {"pir1", "vitals1"}
    pir, vitals = health["pir1"], health["vitals1"]
    assert (pir.online, pir.silent, pir.activity, pir.last_seen_ms, pir.battery_pct) == (False, False, True, M, None)
    assert (vitals.online, vitals.low_battery, vitals.battery_pct, vitals.activity) == (True, True, 15, False)
    assert not vitals.silent and vitals.limit_s == 6 * 3600  # it reported a battery: battery-powered
    assert sup.unmonitored_since(["ann", "bob"]) == {"ann": M}


def test_a_snapshot_without_per_device_limits_restores_and_takes_the_catalogue_limit() -> None:
    sup = DeviceSupervisor()
    sup.process([status(0, device="vitals1", dtype="vitals", online=True), status(0, battery=90)], 0)
    state = sup.snapshot()
    state["dev_state"] = state["dev_state"][:, :10]  # the columns before per-device silence limits
    state["dev_state"][:, 5] = 0  # and vitals monitors were taken as battery-powered then
    restored = DeviceSupervisor()
    restored.restore(state)
    assert restored.advance(11 * M) == []  # not heard since the restore: the old (battery) limit
    restored.process([status(12 * M, device="vitals1", dtype="vitals", online=True)], 12 * M)
    assert [d.device_id for d in restored.advance(23 * M)] == ["vitals1"]
    assert restored.advance(6 * H + M)[0].device_id == "pir1"


def radar(t: int, resident: str, device: str = "rad1") -> Event:
    return sensor_event(Stream.STATUS, t, device, resident, {"online": True}, device_type="radar")


def silent_on(found: list) -> list[tuple[str, str]]:
    return [(d.resident_id, d.device_id) for d in found if d.kind is DetectionKind.DEVICE_SILENT]


def test_a_device_moved_home_falls_silent_on_the_resident_who_has_it_now_across_a_restart() -> None:
    sup = DeviceSupervisor()
    sup.process([radar(0, "ma")], 0)
    sup.process([radar(M, "mb")], M)  # moved: the gateway files its messages under its new resident
    restored = DeviceSupervisor()
    restored.restore(sup.snapshot())
    found = restored.advance(12 * M)
    assert silent_on(found) == [("mb", "rad1")]
    assert restored.device_health(["rad1"])["rad1"].resident_id == "mb"
    assert restored.unmonitored_since(["ma", "mb"]).keys() == {"mb"}


def test_a_device_moved_in_the_registry_is_filed_under_its_new_resident_before_it_speaks() -> None:
    sup = DeviceSupervisor()
    sup.process([radar(0, "ma"), motion(0)], 0)
    sup.follow({"rad1": Binding("mb", "radar"), "pir1": Binding("ann", "pir")}, M)
    found = sup.advance(11 * M)
    assert silent_on(found) == [("mb", "rad1")]
    assert [d.resident_id for d in found if d.kind is DetectionKind.UNMONITORED] == ["mb"]


def test_retired_and_replaced_devices_leave_supervision_and_their_home_is_not_unmonitored() -> None:
    sup = DeviceSupervisor()
    sup.process([radar(0, "ann"), radar(0, "bob", device="old"), radar(0, "bob", device="new")], 0)
    sup.follow({"new": Binding("bob", "radar")}, M)  # rad1 retired; old replaced by new
    sup.process([radar(10 * M, "bob", device="new")], 10 * M)
    found = sup.advance(15 * M)
    assert found == []
    assert sup.device_health(["rad1", "old", "new"]).keys() == {"new"}
    assert sup.unmonitored_since(["ann", "bob"]) == {}
    again = DeviceSupervisor()
    again.restore(sup.snapshot())
    assert silent_on(again.advance(21 * M)) == [("bob", "new")]


def test_a_device_the_registry_holds_but_the_snapshot_lacks_is_watched_from_its_last_stored_message() -> None:
    before = StreamCore([DeviceSupervisor()])
    before.process({"ann": [radar(0, "ann")]}, 0)
    blob = before.snapshot()  # then rad2 is heard, and the process is killed before the next snapshot
    after = StreamCore([DeviceSupervisor()])
    after.restore(blob)
    bound = {
        "rad1": Binding("ann", "radar"),
        "rad2": Binding("ann", "radar", heard_ms=M),
        "rad3": Binding("bob", "radar"),  # never stored: from the restart
    }
    after.follow_registry(bound, 2 * M)
    assert silent_on(after.advance(11 * M + 1)) == [("ann", "rad1"), ("ann", "rad2")]
    assert silent_on(after.advance(12 * M + 1)) == [("bob", "rad3")]
