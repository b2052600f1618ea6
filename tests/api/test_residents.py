"""``/api/v1/residents``: a resident's usual wake-up and bed times (issue 14), set, changed, cleared and
refused through the API, and the registry's ``routine_of`` (the home detector's) in step with them."""

from __future__ import annotations

import time
from typing import Any

from devices.events import Event, Stream
from eldercare.demo import seed
from registry.store import Registry
from stream.home import ROUTINE_REFRESH_MS, HomeActivityDetector
from stream.kernels import home as k
from tests.api.problems import names_field
from tests.harness import running_platform
from tests.orgs import add_org_tree
from tests.services import TestServices

CITY = {"C1 郑州市": {"D1 金水区": {"S1 经八路街道": ["A1 黄河社区"]}}}
BAD_TIMES: list[Any] = ["7:30", "24:00", "12:60", 730, 7.5, "NaN", True, {}, "", "07:30:00", " 07:30"]


def names_time(answer: dict[str, Any], field: str) -> bool:
    return names_field(answer, field, f"{field} must be a time of day HH:MM")


async def test_usual_wake_and_bed_times_set_changed_cleared_and_refused(services: TestServices) -> None:
    async with running_platform(services, residents=0) as harness:
        registry = harness.platform.registry
        await add_org_tree(registry, CITY)
        async with harness.http() as http:
            body = {"name": "王秀英", "org_node": "A1", "usual_wake": "07:30", "usual_bed": "22:00"}
            created = await http.post("/api/v1/residents", json=body)
            assert created.status_code == 201, created.text
            rid = created.json()["id"]
            assert (created.json()["usual_wake"], created.json()["usual_bed"]) == ("07:30", "22:00")
            read = (await http.get(f"/api/v1/residents/{rid}")).json()
            assert (read["usual_wake"], read["usual_bed"]) == ("07:30", "22:00")
            assert registry.routine_of(rid) == (450, 1320)

            async def patch(changes: dict[str, Any]) -> dict[str, Any]:
                response = await http.patch(f"/api/v1/residents/{rid}", json=changes)
                assert response.status_code == 200, response.text
                answer: dict[str, Any] = response.json()
                return answer

            changed = await patch({"usual_bed": "21:15"})
            assert (changed["usual_wake"], changed["usual_bed"]) == ("07:30", "21:15")
            assert registry.routine_of(rid) == (450, 1275)
            renamed = await patch({"name": "王秀英 (changed)"})  # not sent: not changed
            assert (renamed["usual_wake"], renamed["usual_bed"]) == ("07:30", "21:15")
            assert registry.routine_of(rid) == (450, 1275)
            cleared = await patch({"usual_wake": None})
            assert (cleared["usual_wake"], cleared["usual_bed"]) == (None, "21:15")
            assert registry.routine_of(rid) == (None, 1275)
            await patch({"usual_bed": None})
            read = (await http.get(f"/api/v1/residents/{rid}")).json()
            assert (read["usual_wake"], read["usual_bed"]) == (None, None)
            assert registry.routine_of(rid) is None
            assert rid not in registry._routines  # only residents with a time are kept in memory
            await patch({"usual_wake": "00:00", "usual_bed": "23:59"})
            assert registry.routine_of(rid) == (0, 1439)

            plain = await http.post("/api/v1/residents", json={"name": "李建国", "org_node": "A1"})
            assert plain.status_code == 201 and plain.json()["usual_wake"] is None, plain.text
            assert registry.routine_of(plain.json()["id"]) is None
            early = await http.post(
                "/api/v1/residents", json={"name": "张桂兰", "org_node": "A1", "usual_wake": "05:05"}
            )
            assert registry.routine_of(early.json()["id"]) == (305, None)
            assert registry.routine_of("res-nobody") is None

            for field in ("usual_wake", "usual_bed"):
                for bad in BAD_TIMES:
                    refused = await http.post("/api/v1/residents", json={"name": "x", "org_node": "A1", field: bad})
                    assert refused.status_code == 422 and names_time(refused.json(), field), (field, bad, refused.text)
                    refused = await http.patch(f"/api/v1/residents/{rid}", json={field: bad})
                    assert refused.status_code == 422 and names_time(refused.json(), field), (field, bad, refused.text)
            nan = await http.patch(
                f"/api/v1/residents/{rid}", content='{"usual_wake": NaN}', headers={"content-type": "application/json"}
            )
            assert nan.status_code == 422 and names_time(nan.json(), "usual_wake"), nan.text
            assert registry.routine_of(rid) == (0, 1439)  # nothing refused was taken

            exported = (await http.get("/api/v1/exports/residents")).text.splitlines()
            header = exported[0].split(",")
            rows = {row.split(",")[header.index("id")]: row.split(",") for row in exported[1:]}
            assert rows[rid][header.index("usual_wake")] == "00:00"
            assert rows[rid][header.index("usual_bed")] == "23:59"

        fresh = Registry(harness.platform.pool)  # another process: the times read at load
        await fresh.load()
        assert fresh.routine_of(rid) == (0, 1439)
        assert fresh.routine_of(early.json()["id"]) == (305, None)
        assert fresh.routine_of(plain.json()["id"]) is None
        assert len(fresh._routines) == 2


async def test_the_running_home_detector_takes_the_times_from_the_archive(services: TestServices) -> None:
    """Enrolled through the API, then the resident's first motion: the platform's home detector holds
    the archive's times (its ``routine_of`` is the registry's); an edit reaches it within the hour."""
    async with running_platform(services, residents=0) as harness:
        platform = harness.platform
        await add_org_tree(platform.registry, CITY)
        async with harness.http() as http:
            body = {"name": "李桂兰", "org_node": "A1", "usual_wake": "06:30", "usual_bed": "21:30"}
            rid = (await http.post("/api/v1/residents", json=body)).json()["id"]
            now = int(time.time() * 1000)
            motion = Event("pir-e", rid, Stream.MOTION, now, now, {"occupancy": True}, device_type="pir")
            await platform.sink({rid: [motion]})
            home = next(d for d in platform.stream.detectors if isinstance(d, HomeActivityDetector))
            slot = home.residents.get(rid)
            assert slot is not None
            assert (home.si[slot, k.S_ENROLL_WAKE], home.si[slot, k.S_ENROLL_BED]) == (390, 1290)
            await http.patch(f"/api/v1/residents/{rid}", json={"usual_wake": "05:00"})
            home.advance(now + ROUTINE_REFRESH_MS + 1)
            assert home.si[slot, k.S_ENROLL_WAKE] == 300


async def test_the_demo_enrols_its_residents_with_their_usual_times(services: TestServices) -> None:
    """The demo's residents (and the simulator's) are enrolled with their usual times, to the half hour,
    so the embedded default shows them on the card and its detector uses them; seeding twice keeps them."""
    async with running_platform(services, residents=0) as harness:
        registry = harness.platform.registry
        homes = await seed(registry)
        await seed(registry)
        for home in homes:
            wake, bed = home.routine.wake_min, home.routine.bed_min
            told = registry.routine_of(home.resident_id)
            assert told is not None and abs(told[0] - wake) <= 15 and abs((told[1] - bed + 720) % 1440 - 720) <= 15
            assert told[0] % 30 == 0 and told[1] % 30 == 0
        card = await registry.resident("res-0001")
        assert card is not None and (card.usual_wake, card.usual_bed) == ("06:30", "21:30")
