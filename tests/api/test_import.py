"""Bulk CSV import: 10,000 residents with some bad rows, reported row by row; nothing imported twice."""

from __future__ import annotations

import csv
import io
import random
import time

from registry.crypto import FieldCipher, id_number_check
from registry.store import Registry
from tests.harness import Harness, running_platform
from tests.orgs import add_org_tree
from tests.services import TestServices

HEADER = (
    "external_id,name,id_number,birth_date,sex,org_node,home_external_id,address,phone,languages,living_alone,"
    "mobility,conditions,medications,care_level,emergency_contacts,consent_monitoring,consent_data_sharing\n"
)
COMMUNITIES = ("410105001001", "410105001002")
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = ("秀英", "建国", "桂兰", "淑珍", "玉兰", "志强", "凤英", "德明")


def id_number(rng: random.Random, born: str) -> str:
    first17 = f"410105{born.replace('-', '')}{rng.randrange(1000):03d}"
    return first17 + id_number_check(first17)


def residents_csv(n: int, seed: int = 7) -> tuple[str, dict[int, str]]:
    """``n`` residents; every 500th row is broken in one of a few ways. Returns the CSV and {line: why}."""
    rng = random.Random(seed)
    lines = [HEADER]
    bad: dict[int, str] = {}
    for i in range(n):
        line = i + 2  # the header is line 1
        born = f"19{rng.randrange(30, 60)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        row = {
            "external_id": f"ext-{i:06d}",
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "id_number": id_number(rng, born),
            "birth_date": born,
            "sex": rng.choice(("female", "male")),
            "org_node": rng.choice(COMMUNITIES),
            "address": f"金水区经八路{rng.randrange(1, 99)}号院{rng.randrange(1, 9)}号楼",
            "phone": f"138{rng.randrange(10**8):08d}",
            "languages": "zh;henan-dialect",
            "living_alone": rng.choice(("true", "false")),
            "mobility": rng.choice(("independent", "walking_aid", "wheelchair")),
            "conditions": "hypertension;diabetes",
            "medications": "metformin",
            "care_level": rng.choice(("standard", "enhanced")),
            "emergency_contacts": "李明|son|13900000001|phone,sms;王芳|daughter|13900000002|wechat",
            "consent_monitoring": "true",
            "consent_data_sharing": "false",
        }
        if i % 500 == 499:
            kind = (i // 500) % 5
            if kind == 0:
                row["id_number"] = row["id_number"][:17] + ("0" if row["id_number"][17] != "0" else "1")
                bad[line] = "check character"
            elif kind == 1:
                row["org_node"] = "999999"
                bad[line] = "does not exist"
            elif kind == 2:
                row["name"] = ""
                bad[line] = "name"
            elif kind == 3:
                row["birth_date"] = "1950-02-30"
                bad[line] = "birth_date"
            else:
                row["external_id"] = f"ext-{i - 1:06d}"
                bad[line] = "repeats row"
        out = io.StringIO()
        csv.writer(out).writerow([row.get(column, "") for column in HEADER.strip().split(",")])
        lines.append(out.getvalue().replace("\r\n", "\n"))
    return "".join(lines), bad


async def _seed_tree(harness: Harness) -> None:
    registry = harness.platform.registry
    registry.cipher = FieldCipher.generate()
    street = ["410105001001 黄河社区", "410105001002 纬五路社区"]
    await add_org_tree(registry, {"410100 郑州市": {"410105 金水区": {"410105001 经八路街道": street}}})


async def test_ten_thousand_residents_import_with_bad_rows_reported(services: TestServices) -> None:
    async with running_platform(services, residents=0) as harness:
        await _seed_tree(harness)
        text, bad = residents_csv(10_000)
        async with harness.http() as http:
            started = time.perf_counter()
            response = await http.post(
                "/api/v1/imports/residents", content=text.encode(), headers={"content-type": "text/csv"}, timeout=120
            )
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text[:500]
            report = response.json()
            print(f"\n10,000-resident CSV import: {elapsed:.2f} s over HTTP (server-side {report['seconds']} s)")
            assert report["rows"] == 10_000
            assert report["created"] == 10_000 - len(bad)
            assert {problem["row"] for problem in report["rejected"]} == set(bad)
            for problem in report["rejected"]:
                assert any(bad[problem["row"]] in error for error in problem["errors"]), problem

            again = (
                await http.post(
                    "/api/v1/imports/residents",
                    content=text.encode(),
                    headers={"content-type": "text/csv"},
                    timeout=120,
                )
            ).json()
            assert again["created"] == 0
            assert again["skipped_existing"] == 10_000 - len(bad)

            page = (await http.get("/api/v1/residents", params={"limit": 5, "org_node": "410105001002"})).json()
            assert 4000 < page["total"] < 6000
            first = (await http.get(f"/api/v1/residents/{page['items'][0]['id']}")).json()
            assert first["id_number_masked"].startswith("410***********")
            assert [c["relation"] for c in first["emergency_contacts"]] == ["son", "daughter"]
            assert first["emergency_contacts"][0]["channels"] == ["phone", "sms"]

            exported = await http.get("/api/v1/exports/residents")
            assert exported.status_code == 200
            assert exported.text.count("\n") == 10_000 - len(bad) + 1
            assert "410105" not in "".join(row.split(",")[3] for row in exported.text.splitlines()[1:50])

        # every resident's org path is in memory, also for a registry loaded afresh (another process)
        assert harness.platform.registry.resident_org_path(first["id"]) == first["org_path"]
        fresh = Registry(harness.platform.pool)
        await fresh.load()
        assert fresh.resident_org_path(first["id"]) == "/410100/410105/410105001/" + first["org_node"] + "/"


async def test_homes_then_devices_import_and_bind(services: TestServices) -> None:
    async with running_platform(services, residents=0) as harness:
        await _seed_tree(harness)
        async with harness.http() as http:
            homes = (
                "external_id,org_node,address,key_holders,key_safe_code\nh-1,410105001001,经八路1号,李明|139|son,4711\n"
            )
            homes += "h-2,410199,nowhere,,\n"
            report = (
                await http.post("/api/v1/imports/homes", content=homes, headers={"content-type": "text/csv"})
            ).json()
            assert report["created"] == 1 and [p["row"] for p in report["rejected"]] == [3]
            residents = (
                "external_id,name,org_node,home_external_id\nr-1,王秀英,410105001001,h-1\nr-2,李建国,410105001001,h-9\n"
            )
            report = (
                await http.post("/api/v1/imports/residents", content=residents, headers={"content-type": "text/csv"})
            ).json()
            assert report["created"] == 1 and report["rejected"][0]["row"] == 3
            devices = (
                "id,type,model,resident_external_id,z2m_name,ieee\n"
                "btn-i1,sos_button,TS0215A_sos,r-1,sos_i1,0x00124b0012345678\n"
                "pir-i1,pir,,r-1,,\n"
                "pir-i2,pir,,r-404,,\n"
                "bad id!,pir,,r-1,,\n"
                "dup-z,door,,r-1,sos_i1,\n"
            )
            report = (
                await http.post(
                    "/api/v1/imports/devices?issue_credentials=true",
                    content=devices,
                    headers={"content-type": "text/csv"},
                )
            ).json()
            assert report["created"] == 2
            assert [p["row"] for p in report["rejected"]] == [4, 5, 6]
            assert {c["device_id"] for c in report["credentials"]} == {"btn-i1", "pir-i1"}
        registry = harness.platform.registry
        button = registry.zigbee_device("sos_i1")
        assert button is not None and button.id == "btn-i1" and button.resident_id is not None
        assert registry.zigbee_device("0x00124b0012345678") is button
        assert registry.device("pir-i1") is not None


async def test_residents_import_takes_usual_wake_and_bed_times(services: TestServices) -> None:
    """The two optional columns: set, left empty, or refused with the row's reason (the others go in)."""
    async with running_platform(services, residents=0) as harness:
        await _seed_tree(harness)
        registry = harness.platform.registry
        residents = (
            "external_id,name,org_node,usual_wake,usual_bed\n"
            "t-1,王秀英,410105001001,07:30,22:00\n"
            "t-2,李建国,410105001001,06:00,\n"
            "t-3,张桂兰,410105001001,7:30,21:00\n"
            "t-4,刘玉兰,410105001001,,\n"
            "t-5,陈志强,410105001001,08:00,24:00\n"
        )
        async with harness.http() as http:
            response = await http.post(
                "/api/v1/imports/residents", content=residents.encode(), headers={"content-type": "text/csv"}
            )
            assert response.status_code == 200, response.text
            report = response.json()
            assert report["created"] == 3
            assert [(p["row"], p["external_id"]) for p in report["rejected"]] == [(4, "t-3"), (6, "t-5")]
            [wake_error] = report["rejected"][0]["errors"]
            [bed_error] = report["rejected"][1]["errors"]
            assert wake_error.startswith("usual_wake:") and "usual_wake must be a time of day HH:MM" in wake_error
            assert bed_error.startswith("usual_bed:") and "usual_bed must be a time of day HH:MM" in bed_error
            ids = {}
            for ref in ("t-1", "t-2", "t-4"):
                [item] = (await http.get("/api/v1/residents", params={"q": ref})).json()["items"]
                ids[ref] = item["id"]
            read = (await http.get(f"/api/v1/residents/{ids['t-1']}")).json()
            assert (read["usual_wake"], read["usual_bed"]) == ("07:30", "22:00")
            exported = await http.get("/api/v1/exports/residents")
            assert ",07:30,22:00" in exported.text and ",06:00," in exported.text
        assert registry.routine_of(ids["t-1"]) == (450, 1320)
        assert registry.routine_of(ids["t-2"]) == (360, None)
        assert registry.routine_of(ids["t-4"]) is None
