"""Room kinds from free-text locations (stream.rooms): English and Chinese, alone or with more words."""

from __future__ import annotations

import pytest

from stream.kernels import home as k
from stream.rooms import location_words, room_code


@pytest.mark.parametrize(
    "location",
    [
        "bathroom",
        "Bathroom",
        "BATHROOM",
        "toilet",
        "Toilet downstairs",
        "hall-toilet_door",
        "WC",
        "wc 2",
        "shower",
        "ShowerRoom",
        "restroom",
        "washroom",
        "lavatory",
        "powder room",
        "bath",
        "upstairs_bathroom",
        "en-suite",
        "bedroom en-suite shower",
        "卫生间",
        "主卫",
        "浴室",
        "厕所",
        "洗手间",
        "二楼卫生间",
    ],
)
def test_bathrooms(location: str) -> None:
    assert room_code(location) == k.ROOM_BATH


@pytest.mark.parametrize(
    "location",
    [
        "bedroom",
        "Bedroom 2",
        "master_bedroom",
        "MasterBedroom",
        "hall-bedroom_door",
        "bed",
        "bedside",
        "sleeping room",
        "卧室",
        "主卧",
        "次卧",
        "睡房",
    ],
)
def test_bedrooms(location: str) -> None:
    assert room_code(location) == k.ROOM_BED


@pytest.mark.parametrize(
    "location",
    [
        "",
        "kitchen",
        "living",
        "Living room",
        "hall",
        "entrance",
        "bedding cupboard",
        "厨房",
        "客厅",
        "门厅",
        "---",
        "12",
    ],
)
def test_other_rooms(location: str) -> None:
    assert room_code(location) == k.ROOM_OTHER


def test_words() -> None:
    assert location_words("hall-bedroom_door") == ["hall", "bedroom", "door"]
    assert location_words("MasterBedroom2") == ["master", "bedroom", "2"]
    assert location_words("WC") == ["wc"]
    assert location_words("主卧 门") == ["主卧", "门"]


def test_a_log_row_without_a_location_is_placed_by_its_sensors_name() -> None:
    from lab.homes.logs import to_event
    from stream.home import event_code

    assert event_code(to_event("ann", "hall-toilet_door", "contact", "", 0, True))[2] == k.ROOM_BATH
    assert event_code(to_event("ann", "pir_bedroom", "motion", "", 0, True))[2] == k.ROOM_BED
    assert event_code(to_event("ann", "pir_bedroom", "motion", "kitchen", 0, True))[2] == k.ROOM_OTHER
