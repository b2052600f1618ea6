"""Room kinds from free-text locations (stream.rooms): English and Chinese, alone or with more words."""

from __future__ import annotations

import pytest

from stream.kernels import home as k
from stream.rooms import location_words, room_code

BATHROOMS = (
    "bathroom|Bathroom|BATHROOM|toilet|Toilet downstairs|hall-toilet_door|WC|wc 2|shower|ShowerRoom|restroom"
    "|washroom|lavatory|powder room|bath|upstairs_bathroom|en-suite|bedroom en-suite shower"
    "|卫生间|主卫|浴室|厕所|洗手间|二楼卫生间"
)
BEDROOMS = (
    "bedroom|Bedroom 2|master_bedroom|MasterBedroom|hall-bedroom_door|bed|bedside|sleeping room|卧室|主卧|次卧|睡房"
)
OTHERS = "|kitchen|living|Living room|hall|entrance|bedding cupboard|厨房|客厅|门厅|---|12"
CASES = [
    *((name, k.ROOM_BATH) for name in BATHROOMS.split("|")),
    *((name, k.ROOM_BED) for name in BEDROOMS.split("|")),
    *((name, k.ROOM_OTHER) for name in OTHERS.split("|")),
]


@pytest.mark.parametrize(("location", "room"), CASES)
def test_room_of_a_location(location: str, room: int) -> None:
    assert room_code(location) == room


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
