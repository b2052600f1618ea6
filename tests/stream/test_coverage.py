"""What a home's sensors cannot see, named from its registered devices (:mod:`stream.coverage`)."""

from __future__ import annotations

from stream.coverage import GAPS, sensing_gaps

FULL = [
    ("door", "Hall"),
    ("pir", "living room"),
    ("contact", "bedroom door"),
    ("pir", "Bathroom"),
    ("sos_button", "living room"),
]


def test_a_home_sensed_in_every_room_has_no_gap() -> None:
    assert sensing_gaps(FULL) == []


def test_contacts_and_pads_only_see_no_room_between_them() -> None:
    kit = [("door", "entrance"), ("contact", "kitchen cupboard"), ("bed", "bedroom"), ("flush", "toilet")]
    assert sensing_gaps(kit) == ["no_motion"]
    assert sensing_gaps([*kit, ("radar", "living room")]) == []  # a presence radar sees the room


def test_each_missing_part_of_the_kit_is_its_own_gap() -> None:
    assert sensing_gaps([d for d in FULL if d[0] != "door"]) == ["no_entrance_door"]
    assert sensing_gaps([d for d in FULL if "bedroom" not in d[1]]) == ["bedroom_unsensed"]
    assert sensing_gaps([d for d in FULL if d[1] != "Bathroom"]) == ["bathroom_unsensed"]
    # an entrance door registered as a plain contact is no entrance door to the home detector
    kit = [("contact", "front door") if d[0] == "door" else d for d in FULL]
    assert sensing_gaps(kit) == ["no_entrance_door"]


def test_an_inner_door_registered_as_the_entrance_door_is_a_registration_to_correct() -> None:
    """The home detector reads every ``door`` device as the entrance door: one on the bathroom or
    bedroom door would make each visit there an outing."""
    assert sensing_gaps([*FULL, ("door", "bathroom door")]) == ["inner_door_as_entrance"]
    assert sensing_gaps([*FULL, ("door", "卧室门")]) == ["inner_door_as_entrance"]
    assert sensing_gaps([*FULL, ("door", "back door")]) == []  # a second way out is an entrance too


def test_rooms_are_read_as_the_home_detector_reads_them() -> None:
    """Chinese and run-together locations; a bed pad is the bedroom wherever it is registered."""
    kit = [("door", "入户门"), ("pir", "客厅"), ("pir", "主卧"), ("contact", "卫生间门")]
    assert sensing_gaps(kit) == []
    kit = [("door", "hall"), ("pir", "lounge"), ("bed", "living room"), ("pir", "MasterBathroom")]
    assert sensing_gaps(kit) == []


def test_devices_that_sense_nothing_at_home_leave_it_unwatched() -> None:
    """Call buttons, wearables, smoke alarms and unknown types are no activity sensors."""
    kit = [("sos_button", "hall"), ("wristband", ""), ("smoke", "kitchen"), ("toaster-9000", "kitchen")]
    assert sensing_gaps(kit) == ["no_activity_sensor"]
    assert sensing_gaps([]) == ["no_activity_sensor"]
    assert all(gap in GAPS for gap in sensing_gaps([("contact", "kitchen")]))
