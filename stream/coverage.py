"""What a home's sensors cannot see: the gaps in its kit that the home detector (:mod:`stream.home`)
can only read as silence, named from the registered devices so that the operator weighing an alert
from that home sees them on the resident's card, and whoever plans installation visits finds the home
in the console's overview (:mod:`api.overview`).

A gap is a rule over the home's activity sensors (devices whose type publishes one of
:data:`devices.catalogue.ACTIVITY_STREAMS`), each with its room from the free text of its location
(:func:`stream.rooms.room_code`). What each costs was measured in the lab (issue #14, session of 12-07;
``python -m lab.homes.eval --seed S --inject 30 [--layout L]`` on the held-out synthetic seeds 7, 8, 21–23,
``python -m lab.homes.variants ../shared/data/homes`` on van Kasteren's house A with a group of its
sensors taken away):

- ``no_activity_sensor``: nothing senses activity at home; no inactivity alert can be raised.
- ``no_motion``: no motion sensor or presence radar. Contacts and pads see the doors, cupboards and
  chairs they are on, not the rooms between: an hour on a sofa with no pad is a silence. Such homes
  raise 0.21 false alerts per home-day against 0.017 for homes with motion sensors, and a daytime
  collapse is found after 4 h 16 on average against 1 h 41–2 h 15.
- ``no_entrance_door``: no sensor on the entrance door (a ``door`` device). Every outing is a silence
  at home, and coming home is not seen: house A without it raised 28 false alerts in 27.8 days.
- ``bedroom_unsensed``: nothing in a bedroom (no motion sensor, door contact or bed pad). Going to bed
  leaves no trace, so an evening collapse may be taken for the night: found after 5 h on average in
  homes so sensed (2 h 12 where the bedroom is sensed), some only by "not up" in the morning.
- ``bathroom_unsensed``: nothing in a bathroom. A fall there is found by the home's daytime limits,
  never by the bathroom's own hour (BATHROOM_LONG).
- ``inner_door_as_entrance``: a ``door`` device whose location reads as a bedroom or bathroom. The
  home detector reads every ``door`` device as the entrance door, so each time that door opens the
  resident is taken to have gone out, and a silence after it is never due: a registration to correct
  (a ``contact`` sensor), not a sensor to add.
"""

from __future__ import annotations

from collections.abc import Iterable

from devices.catalogue import ACTIVITY_STREAMS, device_type
from devices.events import Stream
from stream.home import ENTRANCE_DOOR_TYPE
from stream.kernels import home as k
from stream.rooms import room_code

GAPS = (
    "no_activity_sensor",
    "no_motion",
    "no_entrance_door",
    "bedroom_unsensed",
    "bathroom_unsensed",
    "inner_door_as_entrance",
)
"""Every gap :func:`sensing_gaps` may name, in the order it names them."""


def sensing_gaps(devices: Iterable[tuple[str, str]]) -> list[str]:
    """The gaps (:data:`GAPS`, in order) of a home whose devices are ``(type, location)`` pairs: all of
    the resident's registered devices; those that sense no activity at home are passed over."""
    sensors = []  # (type, the activity it senses, room)
    for kind, location in devices:
        streams = device_type(kind).streams & ACTIVITY_STREAMS
        if streams:
            sensors.append((kind, streams, room_code(location)))
    if not sensors:
        return ["no_activity_sensor"]
    gaps = []
    if not any(streams & {Stream.MOTION, Stream.PRESENCE} for _, streams, _ in sensors):
        gaps.append("no_motion")
    if not any(kind == ENTRANCE_DOOR_TYPE for kind, _, _ in sensors):
        gaps.append("no_entrance_door")
    if not any(room == k.ROOM_BED or Stream.BED in streams for _, streams, room in sensors):
        gaps.append("bedroom_unsensed")
    if not any(room == k.ROOM_BATH for _, _, room in sensors):
        gaps.append("bathroom_unsensed")
    if any(kind == ENTRANCE_DOOR_TYPE and room != k.ROOM_OTHER for kind, _, room in sensors):
        gaps.append("inner_door_as_entrance")
    return gaps
