"""Who lives in a synthetic home (:mod:`lab.homes.synthetic`): a resident's profile, drawn per home
from its seed, and the traits some residents have (commuters, late sleepers, restless nights).
The shares and ranges are described in :mod:`lab.homes.synthetic`'s docstring."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

COMMUTER_SHARE = 0.25
LATE_SLEEPER_SHARE = 0.2
STICKY_MAT_SHARE = 0.2
SLEEPLESS_SHARE = 0.35
PAD_DROPOUT_SHARE = 0.35
COUCH_DOZE_SHARE = 0.35
SPARSE_LAYOUT_SHARE = 0.4
APPLIANCE_SHARE = 0.4
PIR_HOLD_SHARE = 0.5
TV_EVENING_SHARE = 0.25

LAYOUTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # name: (PIR rooms, other sensors the home lacks); the layouts of real deployments and datasets
    "cooker_bathroom": (  # PIR over the cooker and in the shower room only (Ordóñez et al. 2013)
        frozenset({"kitchen", "bathroom"}),
        frozenset({"bathroom_door", "bedroom_door", "wardrobe"}),
    ),
    "privacy": (frozenset({"hall", "living", "kitchen"}), frozenset()),  # no camera-like eye in bath/bedroom
    "no_bedroom": (frozenset({"hall", "living", "kitchen", "bathroom"}), frozenset({"wardrobe"})),
}
HELD_OUT_LAYOUTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # layouts no default was chosen on, never drawn: ``python -m lab.homes.eval --layout NAME`` puts
    # every home with motion sensors in one, a check in homes sensed in ways the detector was not tuned for
    "doorways": (  # PIR at the kitchen, bathroom and bedroom doorways, bed and seat pads (Ordóñez's home B)
        frozenset({"kitchen", "bathroom", "bedroom"}),
        frozenset({"bathroom_door", "bedroom_door", "wardrobe"}),
    ),
    "kitchen_only": (frozenset({"kitchen"}), frozenset()),
    "hall_only": (frozenset({"hall"}), frozenset()),
    "living_bedroom": (frozenset({"living", "bedroom"}), frozenset()),
    "bedroom_unsensed": (  # nothing in the bedroom, for privacy: no motion sensor, door contact or bed pad
        frozenset({"hall", "living", "kitchen", "bathroom"}),
        frozenset({"bedroom_door", "wardrobe", "bed"}),
    ),
    "bathroom_unsensed": (  # nothing in the bathroom: no motion sensor, door contact or flush
        frozenset({"hall", "living", "kitchen", "bedroom"}),
        frozenset({"bathroom_door", "toilet_flush"}),
    ),
    "motion_only": (  # a motion sensor in every room and the entrance door, no contacts or pads
        frozenset({"hall", "living", "kitchen", "bedroom", "bathroom"}),
        frozenset(
            {"bathroom_door", "toilet_flush", "bedroom_door", "wardrobe", "fridge", "cupboard", "bed", "armchair"}
        ),
    ),
}
PAD_LAYOUTS = frozenset({"cooker_bathroom", "doorways"})
"""Layouts whose homes have bed and seat pads and appliances that report: what such a home sees of
sleep, the armchair and the kitchen."""


def layout_sensors(name: str) -> tuple[frozenset[str], frozenset[str]]:
    """The rooms with motion sensors and the other sensors lacking in layout ``name``."""
    return LAYOUTS[name] if name in LAYOUTS else HELD_OUT_LAYOUTS[name]


@dataclass(frozen=True, slots=True)
class Profile:
    """One synthetic resident and their home (times in hours of local time, gaps in minutes)."""

    pir: bool  # PIR motion in every room (else contacts only)
    bed_pad: bool
    seat_pad: bool
    wake_h: float
    wake_sd_h: float
    bed_h: float
    bed_sd_h: float
    still_gap_min: float  # mean gap between PIR triggers while seated
    nap_p: float  # chance of an afternoon nap per day
    nap_in_bed: bool
    outing_p: float  # chance of an outing per free block
    night_trips: float  # mean bathroom trips per night
    tv_long: bool  # long TV sessions (up to ~3 h)
    away_days: tuple[int, ...] = ()  # commuter: weekdays (0 = Monday) usually spent out
    away_p: float = 0.0  # chance of going on one of those days
    leave_h: float = 9.5  # usual time of leaving
    back_h: float = 16.0  # usual time of coming back
    quiet_p: float = 0.0  # chance per day at home of a long quiet spell (reading, TV, a doze)
    weekend_out_p: float = 0.0  # commuter: chance of a weekend day out (family, friends, church, market)
    sticky_mats: bool = False  # pads re-report "occupied" and release hours late
    sleepless_p: float = 0.0  # chance per night of a sleepless spell out of bed
    dropout_p: float = 0.0  # chance per night of bed-pad dropouts (reads "free" while slept on)
    doze_p: float = 0.0  # chance per evening of dozing off on the couch past bed time
    layout: str = "full"  # "full" (PIR in every room where ``pir``) or a key of LAYOUTS
    appliances: bool = False  # the kettle/microwave and the TV report on/off
    # 0: each trigger reports on, then off 30–90 s later; > 0: on until this long after the last trigger
    pir_hold_s: float = 0.0
    tv_evening_p: float = 0.0  # chance per evening at home of one long TV sit after dinner (2 h 30–4 h 30)

    def has_pir(self, room: str) -> bool:
        return self.pir and (self.layout == "full" or room in layout_sensors(self.layout)[0])

    def has(self, sensor: str) -> bool:
        return self.layout == "full" or sensor not in layout_sensors(self.layout)[1]


def late_sleeper(p: Profile, rng: np.random.Generator) -> Profile:
    """``p`` as a late sleeper: up at 09:30–11:30, in bed at 23:30–01:30."""
    return dataclasses.replace(p, wake_h=float(rng.uniform(9.5, 11.5)), bed_h=float(rng.uniform(23.5, 25.5)))


def commuter(p: Profile, rng: np.random.Generator) -> Profile:
    """``p`` as a commuter: away on 3–5 fixed weekdays (each kept with chance 0.7–0.95) and on up to
    60 % of weekend days, leaving at 08:30–10:30 and back at 13:00–17:30, with long quiet spells on
    the days at home."""
    n_days = int(rng.integers(3, 6))
    days = tuple(sorted(int(d) for d in rng.choice(5, size=n_days, replace=False)))
    leave = float(rng.uniform(8.5, 10.5))
    return dataclasses.replace(
        p,
        away_days=days,
        away_p=float(rng.uniform(0.7, 0.95)),
        leave_h=max(leave, p.wake_h + 1.0),
        back_h=float(rng.uniform(13.0, 17.5)),
        quiet_p=float(rng.uniform(0.4, 0.9)),
        weekend_out_p=float(rng.uniform(0.0, 0.6)),
    )


def night_traits(p: Profile, rng: np.random.Generator) -> Profile:
    """``p`` with the night-time traits of the module docstring, each drawn with its share."""
    sleepless = float(rng.uniform(0.1, 0.35)) if rng.random() < SLEEPLESS_SHARE else 0.0
    dropout = float(rng.uniform(0.2, 0.6)) if rng.random() < PAD_DROPOUT_SHARE else 0.0
    doze = float(rng.uniform(0.1, 0.4)) if rng.random() < COUCH_DOZE_SHARE else 0.0
    if not p.bed_pad or p.sticky_mats:  # a sticky pad does not let go at all
        dropout = 0.0
    return dataclasses.replace(p, sleepless_p=sleepless, dropout_p=dropout, doze_p=doze)


def tv_evenings(p: Profile, rng: np.random.Generator) -> Profile:
    """``p`` with long TV evenings (one resident in TV_EVENING_SHARE, on 20–60 % of evenings): after
    dinner 2 h 30–4 h 30 in the armchair without getting up, a PIR trigger at the usual gaps where the
    living room has one, the seat pad occupied throughout where there is one."""
    if rng.random() < TV_EVENING_SHARE:
        return dataclasses.replace(p, tv_evening_p=float(rng.uniform(0.2, 0.6)))
    return p


def sensor_layout(p: Profile, rng: np.random.Generator, held_out: str | None = None) -> Profile:
    """``p`` in a home with motion sensors in some rooms only (one home in SPARSE_LAYOUT_SHARE of those
    with motion sensors): over the cooker and in the shower room with bed and seat pads (Ordóñez et al.
    2013's homes), none in the bathroom and bedroom (privacy), or none in the bedroom; and (one home in
    APPLIANCE_SHARE) appliances that report on/off: the kettle or microwave, and the TV; and (one home
    in PIR_HOLD_SHARE) motion sensors that hold "occupied" while motion goes on, clearing 1–5 min after
    the last of it (a retriggerable PIR, or a dataset that logs motion as intervals), not a pulse per
    trigger. ``held_out``: every home with motion sensors in that layout (of HELD_OUT_LAYOUTS, or one
    of LAYOUTS for all of them) instead (the other draws as they were)."""
    layout = p.layout
    if p.pir and rng.random() < SPARSE_LAYOUT_SHARE:
        layout = str(rng.choice(sorted(LAYOUTS)))
    if held_out is not None and layout_sensors(held_out) and p.pir:  # (a KeyError for no layout's name)
        layout = held_out
    bed_pad, seat_pad = p.bed_pad, p.seat_pad
    if layout in PAD_LAYOUTS:
        bed_pad = seat_pad = True
    appliances = bool(rng.random() < APPLIANCE_SHARE) or layout in PAD_LAYOUTS
    hold = float(rng.uniform(60.0, 300.0)) if rng.random() < PIR_HOLD_SHARE else 0.0
    return dataclasses.replace(
        p, layout=layout, appliances=appliances, bed_pad=bed_pad, seat_pad=seat_pad, pir_hold_s=hold
    )


def profile(rng: np.random.Generator) -> Profile:
    """A resident who lives at home day in, day out (see :func:`commuter` for the others)."""
    return Profile(
        pir=bool(rng.random() < 0.85),
        bed_pad=bool(rng.random() < 0.7),
        seat_pad=bool(rng.random() < 0.5),
        wake_h=float(rng.uniform(6.0, 9.0)),
        wake_sd_h=float(rng.uniform(0.2, 0.7)),
        bed_h=float(rng.uniform(21.0, 23.5)),
        bed_sd_h=float(rng.uniform(0.2, 0.6)),
        still_gap_min=float(rng.uniform(5.0, 25.0)),
        nap_p=float(rng.choice([0.0, 0.3, 0.8])),
        nap_in_bed=bool(rng.random() < 0.5),
        outing_p=float(rng.uniform(0.05, 0.3)),
        night_trips=float(rng.uniform(0.2, 2.0)),
        tv_long=bool(rng.random() < 0.5),
    )
