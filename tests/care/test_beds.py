"""Home care beds: the contract, its kit and plan, and the monthly compliance view, against hand counts.

February 2026 has 28 days.

* bed 1 (r1, A1, from 1 Jan): kit SOS button + door sensor, 4 visits and 8 services a month. Only the
  button is installed. Services: 7 in February + one at 23:30 on 28 Feb (local; February) — 8; one at
  00:10 on 1 March and one at 23:50 on 31 January do not count. 4 visits. → due 8/4, done 8/4, kit not
  installed → not compliant.
* bed 2 (r2, A2, from 15 Feb): 14 of 28 days → services due ⌈5 × 0.5⌉ = 3, visits ⌈2 × 0.5⌉ = 1; kit SOS
  button (active, but the platform holds it offline) + PIR (failed). 3 services, 1 visit → compliant,
  kit installed but not online.
* bed 3 (r3, B1) ended 31 January → not in February's view.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from alerting import AlertBus, AlertService
from care import CareService
from care.beds import covered_days
from care.periods import Month
from care.signals import platform_offline_devices, platform_signals
from registry.area import Area
from registry.errors import Invalid, NotFound
from stream.detections import Detection, DetectionKind
from tests.care.conftest import EVERYWHERE, ROOT, FakeClock, Registered

CST = timezone(timedelta(hours=8))


def local(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CST)


async def device(registered: Registered, device_id: str, resident_id: str, kind: str, status: str = "active") -> None:
    async with registered.pool.connection() as conn:
        await conn.execute(
            "INSERT INTO devices (id, resident_id, type, status) VALUES (%s, %s, %s, %s)",
            (device_id, resident_id, kind, status),
        )


def test_covered_days() -> None:
    february = Month(2026, 2)
    assert covered_days(february, date(2026, 1, 1), None) == 28
    assert covered_days(february, date(2026, 2, 15), None) == 14
    assert covered_days(february, date(2026, 1, 1), date(2026, 2, 1)) == 1
    assert covered_days(february, date(2026, 3, 1), None) == 0


async def test_monthly_compliance(pool: object, registered: Registered, clock: FakeClock) -> None:
    offline_now: set[str] = {"btn-r2"}

    async def offline(device_ids: Sequence[str]) -> set[str]:
        return offline_now & set(device_ids)

    async def alert_counts(resident_ids: Sequence[str], start: datetime, end: datetime) -> dict[str, int]:
        assert (start, end) == (datetime(2026, 1, 31, 16, tzinfo=UTC), datetime(2026, 2, 28, 16, tzinfo=UTC))
        return {"r1": 2}

    care = CareService(registered.pool, clock=clock, offline_devices=offline, alert_counts=alert_counts)
    clock.now = local(3, 5)
    for rid, node in (("r1", "A1"), ("r2", "A2"), ("r3", "B1")):
        await registered.resident(rid, node)
    await device(registered, "btn-r1", "r1", "sos_button")
    await device(registered, "btn-r2", "r2", "sos_button")
    await device(registered, "pir-r2", "r2", "pir", "failed")
    bed1 = await care.beds.create("r1", {"provider": "幸福家园", "level": "moderate", "start_date": date(2026, 1, 1),
                                         "kit": ["sos_button", "door"], "visits_per_month": 4,
                                         "services_per_month": 8}, EVERYWHERE, ROOT)  # fmt: skip
    bed2 = await care.beds.create("r2", {"provider": "幸福家园", "level": "mild", "start_date": date(2026, 2, 15),
                                         "kit": ["sos_button", "pir"], "visits_per_month": 2,
                                         "services_per_month": 5}, EVERYWHERE, ROOT)  # fmt: skip
    ended = {"provider": "夕阳红", "level": "mild", "start_date": date(2025, 6, 1), "end_date": date(2026, 1, 31)}
    await care.beds.create("r3", {**ended, "services_per_month": 4}, EVERYWHERE, ROOT)
    times = [local(2, day) for day in range(1, 8)] + [local(2, 28, 23, 30), local(3, 1, 0, 10), local(1, 31, 23, 50)]
    for at in times:
        await care.beds.record_service(bed1["id"], {"at": at, "service": "助浴 bathing"}, EVERYWHERE, ROOT)
    for day in (16, 20, 25):
        await care.beds.record_service(bed2["id"], {"at": local(2, day), "service": "保洁 cleaning"}, EVERYWHERE, ROOT)
    for rid, days in (("r1", (3, 10, 17, 24)), ("r2", (20,))):
        for day in days:
            await care.visits.record(rid, {"at": local(2, day), "mode": "in_person"}, EVERYWHERE, ROOT)

    rows = await care.beds.compliance(EVERYWHERE, ROOT, Month(2026, 2))
    view = {row["resident_id"]: row for row in rows}
    assert set(view) == {"r1", "r2"}
    first, second = view["r1"], view["r2"]
    assert (first["services_due"], first["services_delivered"], first["visits_due"], first["visits_made"]) == (
        8,
        8,
        4,
        4,
    )
    assert first["kit_status"] == [
        {"type": "door", "installed": False, "online": False, "devices": []},
        {"type": "sos_button", "installed": True, "online": True, "devices": ["btn-r1"]},
    ]
    assert (first["compliant"], first["alerts"]) == (False, 2)
    assert (second["covered_days"], second["services_due"], second["visits_due"]) == (14, 3, 1)
    assert (second["services_delivered"], second["visits_made"]) == (3, 1)
    assert (second["compliant"], second["kit_installed"], second["kit_online"]) == (True, True, False)
    assert [k["online"] for k in second["kit_status"]] == [False, False]  # PIR failed; the button held offline

    only_a1 = await care.beds.compliance(Area("/C1/D1/S1/A1/"), ROOT, Month(2026, 2))
    assert [row["id"] for row in only_a1] == [bed1["id"]]
    with pytest.raises(NotFound):
        await care.beds.compliance(Area("/C1/D1/S2/"), ROOT, Month(2026, 2), bed1["id"])
    with pytest.raises(NotFound):
        await care.beds.record_service(bed1["id"], {"at": local(2, 9), "service": "x"}, Area("/C1/D1/S2/"), ROOT)
    with pytest.raises(Invalid, match="end_date"):
        await care.beds.create("r1", {"provider": "p", "level": "mild", "start_date": date(2026, 2, 1),
                                      "end_date": date(2026, 1, 1)}, EVERYWHERE, ROOT)  # fmt: skip


async def test_the_platforms_signals_come_from_open_alerts(registered: Registered, clock: FakeClock) -> None:
    alerts = AlertService(registered.pool, AlertBus(), org_of=lambda rid: "/C1/D1/S1/A1/", clock=clock)
    await alerts.restore()
    at_ms = int(clock().timestamp() * 1000)
    await alerts.raise_detections([
        Detection("r2", "btn-r2", DetectionKind.DEVICE_OFFLINE, at_ms, at_ms, "btn-r2:offline:1"),
        Detection("r3", "pir-r3", DetectionKind.INACTIVITY, at_ms, at_ms, "pir-r3:inactivity:1"),
        Detection("r1", "btn-r1", DetectionKind.SOS, at_ms, at_ms, "btn-r1:sos:1"),
    ])  # fmt: skip
    assert await platform_offline_devices(alerts)(["btn-r2", "btn-r1"]) == {"btn-r2"}
    signals = await platform_signals(alerts)(["r1", "r2", "r3"])
    assert signals == {"r3": ["no_activity_today"], "r2": ["device_offline"]}  # an SOS is no such signal
    window = (clock() - timedelta(hours=1), clock() + timedelta(hours=1))
    assert await alerts.counts_by_resident(["r1", "r2", "r3"], *window) == {"r1": 1, "r2": 1, "r3": 1}
    assert await alerts.counts_by_resident(["r1"], clock() + timedelta(hours=1), clock() + timedelta(hours=2)) == {}
