"""Seeded synthetic homes in the "home event log set" format, for evaluating the home detector.

Each home gets its own profile (drawn from the seed): which sensors it has (PIR motion per room,
entrance door, bed and seat pressure pads, fridge/cupboard contacts, toilet flush; or contacts only,
like van Kasteren's house A), wake-up and bed times with day-to-day variation, how still the resident
sits (mean gap between PIR triggers while seated), naps (in bed or in an armchair), TV sessions,
outings, night-time bathroom trips. About one resident in four is a "commuter": away most weekday
daytime hours on their own schedule (a day centre, volunteering, family: out through the entrance
door after breakfast, back in the afternoon, on 3–5 fixed weekdays and not every week; some weekend
days out too), at home on the other days, when they have ordinary quiet spells of up to about two
hours in the late morning and afternoon (reading, TV, a doze in the armchair). Their home is rarely
occupied at those hours, so the detector sees little evidence of what a normal day at home looks
like there. Days are built from blocks (bathroom, meals, chores, sitting, naps, outings) between
anchors (breakfast, lunch, dinner, bed); each block emits the events its room's sensors would
produce. About one resident in five is a late sleeper (up at 09:30–11:30, in bed after
midnight: a fixed 11:00 "not up" deadline breaks for them before their routine is learned), and in
about one home in five the pressure mats are sticky: they re-report "occupied" every 10–30 min while
occupied and stay "occupied" for 0.5–4 h after the resident got up (bed and couch mats that do not
release).

Nights are not only sleep and bathroom trips (each trait drawn per home from a stream of its own, so
the homes without it are as they were; its events from another, so the rest of the log is too):

- sleepless spells (about one resident in three, on 10–35 % of nights): up between 00:30 and 05:30
  for 20 min–2 h, perhaps the toilet first, perhaps tea in the kitchen, then in the living room
  (the armchair's seat pad where there is one): reading or TV (the usual gaps between PIR triggers)
  or dozing (one trigger an hour or less), then back to bed; one spell in eight ends dozing in the
  armchair until the morning (the wake-up then starts from the living room, the bed long free);
- bed-pad dropouts (about one home in three with a bed pad that is not sticky, on 20–60 % of
  nights): the pad reads "free" for 3 min–2 h (log-uniform) while the sleeper lies still at its
  edge, with nothing else seen (a turn in bed may trip the bedroom PIR), then "occupied" again;
  one night in four the last of them lasts until the morning;
- dozing off on the couch in the evening (about one resident in three, on 10–40 % of evenings):
  30 min–2 h 30 in the armchair past the usual bed time, a PIR trigger now and then (mean gap
  60 min), then the toilet and to bed.

Some evenings are one long sit (about one resident in four, on 20–60 % of evenings, drawn and
played from streams of their own): after dinner 2 h 30–4 h 30 in the armchair in front of the TV
without getting up (ending at least 35 min before bed time), the seat pad occupied throughout where
there is one and the living room's PIR at the resident's usual gaps where there is one. In a home
that sees the armchair only through its seat pad such an evening is one silence of up to 4 h 30
(the shorter sits of the other blocks never reach 3 h).

Not every home is fully sensed (:func:`lab.homes.residents.sensor_layout`, drawn per home from a
stream of its own): in two homes in five of those with motion sensors they are in some rooms only,
over the cooker and in the shower room with bed and seat pads and no inner door contacts (the homes
of Ordóñez et al. 2013), none in the bathroom and bedroom (privacy), or none in the bedroom; in two
homes in five the kettle or microwave and the TV report on and off; in one home in two the motion
sensors hold "occupied" while motion goes on and clear 1–5 min after the last of it (as a
retriggerable PIR does, and as datasets that log motion as intervals record it). Night-time
bathroom trips never overlap (a second trip waits until 10 min after the first). ``layout``
(``--layout``) puts every home with motion sensors in one of the layouts never drawn and never tuned
on (:data:`lab.homes.residents.HELD_OUT_LAYOUTS`), and ``door_open`` (``--door-open``) has every
resident leave the bedroom door open on that share of nights: checks that the detector holds in
homes sensed, and by habits, it was not chosen for.

Everything is normal living: every alert is false (stops are cut in by :func:`lab.homes.replay.inject`).

``python -m lab.homes.synthetic OUT --homes 12 --days 35 --seed 0`` writes ``OUT/index.csv`` and
one CSV per home, readable by ``eldercare replay homes OUT``.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from lab.homes.enrolment import enrol
from lab.homes.logs import HomeEntry, HomeLog, iso_to_ms, log_of_rows, write_log_set
from lab.homes.residents import (
    COMMUTER_SHARE,
    LATE_SLEEPER_SHARE,
    STICKY_MAT_SHARE,
    Profile,
    commuter,
    late_sleeper,
    night_traits,
    profile,
    sensor_layout,
    tv_evenings,
)
from lab.homes.variants import door_left_open

MIN = 60_000
HOUR = 3_600_000
DAY = 86_400_000
Row = tuple[int, str, str, str, int]  # ts_ms, sensor, kind, location, state
CHAIR_NIGHT_P = 0.125  # a sleepless spell that ends asleep in the armchair until the morning


class _Day:
    """Emits one home's events; ``t`` is the simulated clock (epoch ms)."""

    def __init__(
        self,
        p: Profile,
        rng: np.random.Generator,
        rows: list[Row],
        night_rng: np.random.Generator | None = None,
        evening_rng: np.random.Generator | None = None,
    ) -> None:
        self.p, self.rng, self.rows = p, rng, rows
        self.night_rng = night_rng if night_rng is not None else rng  # the night traits' own stream
        self.evening_rng = evening_rng if evening_rng is not None else rng  # the long TV evenings' own
        self.held: dict[tuple[str, str, str], list[tuple[float, float]]] = {}  # sticky pads: occupied spans
        self.in_bed: float | None = None

    def emit(self, t: float, sensor: str, kind: str, location: str, state: int) -> None:
        if self.p.has(sensor):
            self.rows.append((int(t), sensor, kind, location, state))

    def pad(self, name: str, kind: str, room: str, t_on: float, t_off: float) -> None:
        """A pressure pad occupied over ``[t_on, t_off)``; a sticky one re-reports "occupied" every 10–30
        min and releases 0.5–4 h late."""
        if not self.p.sticky_mats:
            self.emit(t_on, name, kind, room, 1)
            self.emit(t_off, name, kind, room, 0)
            return
        self.held.setdefault((name, kind, room), []).append((t_on, t_off + self.rng.uniform(0.5, 4.0) * HOUR))

    def flush_pads(self, morning: float) -> None:
        """Emit the sticky pads' reports: overlapping spans merged (a pad still "occupied" when someone sits
        down again reports no change), "occupied" every 10-30 min, then free; the last night's past ``morning``."""
        if self.p.bed_pad and self.p.sticky_mats and self.in_bed is not None:
            self.held.setdefault(("bed", "bed", "bedroom"), []).append((self.in_bed, morning + HOUR))
        for (name, kind, room), spans in self.held.items():
            merged: list[list[float]] = []
            for start, end in sorted(spans):
                if merged and start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            for start, end in merged:
                t = start
                while t < end:
                    self.emit(t, name, kind, room, 1)
                    t += self.rng.uniform(10, 30) * MIN
                self.emit(end, name, kind, room, 0)

    def pir(self, room: str, t0: float, t1: float, gap_min: float) -> None:
        """PIR triggers at Poisson times (mean gap) in ``[t0, t1)``: each reported and cleared 30–90 s
        later, or (``pir_hold_s``) one "occupied" per run of triggers, cleared that long after its last."""
        if not self.p.has_pir(room):
            return
        name = f"pir_{room}"
        hold = self.p.pir_hold_s * 1000.0
        clear = -1.0  # a holding sensor: when it clears (−1: not occupied)
        t = t0 + self.rng.exponential(gap_min * MIN * 0.3)
        while t < t1:
            if hold <= 0:
                self.emit(t, name, "motion", room, 1)
                self.emit(t + self.rng.uniform(30_000, 90_000), name, "motion", room, 0)
            else:
                if t > clear:  # (re)triggered after it cleared: a new interval
                    if clear >= 0:
                        self.emit(clear, name, "motion", room, 0)
                    self.emit(t, name, "motion", room, 1)
                clear = t + hold
            t += max(100_000.0, self.rng.exponential(gap_min * MIN))
        if clear >= 0:
            self.emit(clear, name, "motion", room, 0)

    def contact(self, name: str, kind: str, room: str, t: float) -> None:
        self.emit(t, name, kind, room, 1)
        self.emit(t + self.rng.uniform(3_000, 40_000), name, kind, room, 0)

    def move(self, room: str, t: float) -> None:
        """Walking into ``room`` (the hall sensor on the way)."""
        self.pir("hall", t - 20_000, t, 0.2)
        self.pir(room, t, t + 30_000, 0.3)

    # -- blocks: each returns its end time -----------------------------------------------------
    def bathroom(self, t: float) -> float:
        end = t + self.rng.uniform(4, 15) * MIN
        self.move("bathroom", t)
        self.contact("bathroom_door", "contact", "bathroom", t)
        self.pir("bathroom", t, end, 1.5)
        self.contact("toilet_flush", "flush", "bathroom", end - 60_000)
        self.contact("bathroom_door", "contact", "bathroom", end)
        return end

    def kitchen(self, t: float, minutes: float) -> float:
        end = t + minutes * MIN
        self.move("kitchen", t)
        self.pir("kitchen", t, end, 2.0)
        for _ in range(int(self.rng.integers(1, 5))):
            name = "fridge" if self.rng.random() < 0.5 else "cupboard"
            self.contact(name, "contact", "kitchen", self.rng.uniform(t, end))
        if self.p.appliances and self.rng.random() < 0.7:  # the kettle or the microwave
            on = self.rng.uniform(t, max(t, end - 5 * MIN))
            self.emit(on, "kettle", "appliance", "kitchen", 1)
            self.emit(on + self.rng.uniform(1, 5) * MIN, "kettle", "appliance", "kitchen", 0)
        return end

    def chores(self, t: float) -> float:
        end = t + self.rng.uniform(10, 45) * MIN
        room = str(self.rng.choice(["living", "bedroom", "kitchen", "hall"]))
        self.move(room, t)
        self.pir(room, t, end, 3.0)
        if room == "bedroom":
            self.contact("wardrobe", "contact", "bedroom", self.rng.uniform(t, end))
        if room == "kitchen":
            self.contact("cupboard", "contact", "kitchen", self.rng.uniform(t, end))
        return end

    def sit(self, t: float, minutes: float, gap_min: float | None = None) -> float:
        end = t + minutes * MIN
        self.move("living", t)
        if self.p.seat_pad:
            self.pad("armchair", "seat", "living", t + 20_000, end - 20_000)
        if self.p.appliances and minutes >= 30 and self.rng.random() < 0.5:  # watching TV
            self.emit(t + 60_000, "tv", "appliance", "living", 1)
            self.emit(end - 30_000, "tv", "appliance", "living", 0)
        self.pir("living", t + 60_000, end - 60_000, gap_min or self.p.still_gap_min)
        self.pir("living", end - 20_000, end, 0.3)
        return end

    def nap(self, t: float) -> float:
        minutes = self.rng.uniform(30, 120)
        if not self.p.nap_in_bed:  # dozing in the armchair: a PIR now and then at most
            return self.sit(t, minutes, gap_min=45.0)
        end = t + minutes * MIN
        self.move("bedroom", t)
        self.contact("bedroom_door", "contact", "bedroom", t)
        if self.p.bed_pad:
            self.pad("bed", "bed", "bedroom", t + 60_000, end)
        self.pir("bedroom", end, end + 60_000, 0.5)
        self.contact("bedroom_door", "contact", "bedroom", end + 60_000)
        return end + 60_000

    def outing(self, t: float) -> float:
        back = t + self.rng.uniform(40, 240) * MIN
        self.move("hall", t)
        self.contact("front_door", "door", "hall", t + 60_000)
        self.contact("front_door", "door", "hall", back)
        self.pir("hall", back, back + 60_000, 0.3)
        return back + 60_000

    def quiet(self, t: float) -> float:
        """A long quiet spell in the armchair, 45–130 min: reading or TV (a PIR now and then), or a doze
        or a seat out of the sensor's view (hardly any trigger: silent up to the whole spell)."""
        return self.sit(t, self.rng.uniform(45, 130), gap_min=40.0 if self.rng.random() < 0.5 else 300.0)

    def day_out(self, t: float, leave: float, back: float) -> float:
        """Free time until ``leave``, then out through the entrance door until ``back``."""
        t = self.free_time(t, leave)
        t = max(t, leave)
        self.move("hall", t)
        self.contact("front_door", "door", "hall", t + 60_000)
        back = max(back, t + 2 * HOUR)
        self.contact("front_door", "door", "hall", back)
        self.pir("hall", back, back + 60_000, 0.3)
        return back + 60_000

    def free_time(self, t: float, until: float) -> float:
        """Blocks until ``until``: sitting, chores, the bathroom, now and then an outing."""
        while t < until - 10 * MIN:
            u = self.rng.random()
            if u < self.p.outing_p:
                t = self.outing(t)
            elif u < self.p.outing_p + 0.15:
                t = self.bathroom(t)
            elif u < 0.6:
                t = self.chores(t)
            else:
                longest = 180.0 if self.p.tv_long else 90.0
                t = self.sit(t, min(self.rng.uniform(20, longest), max(10.0, (until - t) / MIN)))
        return t

    def day(self, day0: int, wake: float, bed: float, next_wake: float, away: bool = False) -> None:
        p, rng = self.p, self.rng
        if p.bed_pad and not p.sticky_mats:
            self.emit(wake, "bed", "bed", "bedroom", 0)
        elif p.bed_pad and self.in_bed is not None:  # a sticky pad lets go hours after the resident got up
            self.pad("bed", "bed", "bedroom", self.in_bed, wake)
        self.pir("bedroom", wake, wake + 3 * MIN, 0.5)
        self.contact("bedroom_door", "contact", "bedroom", wake + 3 * MIN)
        t = self.bathroom(wake + 4 * MIN)
        t = self.kitchen(t, rng.uniform(15, 40))
        lunch = day0 + (12.5 + rng.normal(0, 0.4)) * HOUR
        dinner = day0 + (18.3 + rng.normal(0, 0.4)) * HOUR
        if away:  # out for the day: lunch out, back in the afternoon
            leave = day0 + (p.leave_h + rng.normal(0, 0.3)) * HOUR
            back = day0 + (p.back_h + rng.normal(0, 0.5)) * HOUR
            t = self.day_out(t, leave, min(back, dinner - HOUR))
            if t < lunch:
                t = self.free_time(t, lunch)
                t = self.kitchen(max(t, lunch), rng.uniform(20, 45))
        else:
            if p.quiet_p > 0 and rng.random() < p.quiet_p:  # a quiet late morning
                t = self.free_time(t, day0 + rng.uniform(9.5, 11.0) * HOUR)
                t = self.quiet(t)
            t = self.free_time(t, lunch)
            t = self.kitchen(max(t, lunch), rng.uniform(20, 45))
            if rng.random() < p.nap_p:
                t = self.nap(t)
            elif p.quiet_p > 0 and rng.random() < p.quiet_p:  # a quiet afternoon
                t = self.quiet(self.free_time(t, t + rng.uniform(0.2, 2.5) * HOUR))
        t = self.free_time(t, dinner)
        t = self.kitchen(max(t, dinner), rng.uniform(20, 50))
        if self.p.tv_evening_p > 0 and self.evening_rng.random() < self.p.tv_evening_p:
            t = self.tv_evening(t, bed)
        t = self.free_time(t, bed - 30 * MIN)
        if p.doze_p > 0 and self.night_rng.random() < p.doze_p:
            t = self.couch_doze(t, bed)
        t = self.bathroom(max(t, bed - 25 * MIN))
        self.move("bedroom", t)
        self.contact("bedroom_door", "contact", "bedroom", t + 60_000)
        t_bed = max(t + 2 * MIN, bed)
        if p.bed_pad and not p.sticky_mats:
            self.emit(t_bed, "bed", "bed", "bedroom", 1)
        self.in_bed = t_bed  # a sticky pad does not let go for a trip to the toilet either
        busy: list[tuple[float, float]] = []  # the night's spans out of bed (or the pad free)
        for _ in range(int(rng.poisson(p.night_trips))):  # night-time bathroom trips
            if next_wake - HOUR < t_bed + HOUR:  # a night too short for a trip (a late TV evening, an early day)
                break
            trip = rng.uniform(t_bed + HOUR, next_wake - HOUR)
            if trip <= t_bed + HOUR:
                continue
            for start, end in sorted(busy):  # not during another trip: after it
                if start - 20 * MIN < trip < end + 10 * MIN:
                    trip = end + 10 * MIN
            if trip > next_wake - 40 * MIN:  # no room left before the morning
                continue
            if p.bed_pad and not p.sticky_mats:
                self.emit(trip, "bed", "bed", "bedroom", 0)
            back = self.bathroom(trip + 60_000)
            self.pir("bedroom", back + 30_000, back + 60_000, 0.3)
            if p.bed_pad and not p.sticky_mats:
                self.emit(back + 90_000, "bed", "bed", "bedroom", 1)
            busy.append((trip, back + 90_000))
        if p.sleepless_p > 0 or p.dropout_p > 0:
            self.night(day0, t_bed, next_wake, busy)

    # -- the evening's and the night's other life (each trait drawn from a stream of its own) ------
    def _free(self, busy: list[tuple[float, float]], lo: float, hi: float, gap: float = 10 * MIN) -> bool:
        return lo < hi and all(hi + gap <= a or lo >= b + gap for a, b in busy)

    @contextmanager
    def _drawing_from(self, stream: np.random.Generator) -> Iterator[np.random.Generator]:
        """The shared blocks draw from ``stream`` (a trait's own) inside, from the day's stream after."""
        day_rng, self.rng = self.rng, stream
        try:
            yield stream
        finally:
            self.rng = day_rng

    def tv_evening(self, t: float, bed: float) -> float:
        """One long sit in front of the TV after dinner: 2 h 30–4 h 30, ending 35 min before bed time at
        the latest (no sit when less than 1 h 30 is left)."""
        with self._drawing_from(self.evening_rng) as rng:
            minutes = min(rng.uniform(150, 270), (bed - 35 * MIN - t) / MIN)
            return self.sit(t, minutes) if minutes >= 90 else t

    def couch_doze(self, t: float, bed: float) -> float:
        """Dozing off in the armchair in the evening: 30 min–2 h 30 past the usual bed time."""
        with self._drawing_from(self.night_rng) as rng:
            end = max(t, bed) + rng.uniform(30, 150) * MIN
            return self.sit(t, (end - t) / MIN, gap_min=60.0)

    def night(self, day0: float, t_bed: float, next_wake: float, busy: list[tuple[float, float]]) -> None:
        """Sleepless spells and bed-pad dropouts in the night between ``t_bed`` and ``next_wake``, clear of
        the bathroom trips in ``busy``."""
        p, rng = self.p, self.night_rng
        pad = p.bed_pad and not p.sticky_mats
        if p.sleepless_p > 0 and rng.random() < p.sleepless_p:
            for _ in range(5):  # a spell at 00:30–05:30, clear of the trips
                start = day0 + DAY + rng.uniform(-0.5, 5.5) * HOUR
                length = rng.uniform(20, 120) * MIN
                chair = rng.random() < CHAIR_NIGHT_P
                end = next_wake - 5 * MIN if chair else start + length
                fits = start >= t_bed + HOUR and end <= next_wake - (5 * MIN if chair else HOUR)
                if fits and self._free(busy, start, end):
                    self.sleepless(start, end, chair, pad)
                    busy.append((start, next_wake if chair else end))
                    break
        if pad and p.dropout_p > 0 and rng.random() < p.dropout_p:
            for i in range(int(rng.integers(1, 4))):
                if next_wake - 30 * MIN < t_bed + 30 * MIN:  # too short a night
                    break
                start = rng.uniform(t_bed + 30 * MIN, next_wake - 30 * MIN)
                length = float(np.exp(rng.uniform(np.log(3.0), np.log(120.0)))) * MIN
                until_morning = i == 0 and rng.random() < 0.25 and self._free(busy, start, next_wake)
                end = next_wake if until_morning else start + length
                if until_morning or (end < next_wake - 10 * MIN and self._free(busy, start, end)):
                    self.emit(start, "bed", "bed", "bedroom", 0)
                    if rng.random() < 0.3:  # a turn at the pad's edge, seen by the bedroom PIR
                        self.pir("bedroom", start, start + 60_000, 0.5)
                    if not until_morning:
                        self.emit(end, "bed", "bed", "bedroom", 1)
                    busy.append((start, end))

    def sleepless(self, start: float, end: float, chair: bool, pad: bool) -> None:
        """Up from bed at ``start``: perhaps the toilet, perhaps tea, then the living room until ``end``
        (reading, TV or dozing), back to bed; or (``chair``) asleep in the armchair until the morning."""
        with self._drawing_from(self.night_rng) as rng:
            if pad:
                self.emit(start, "bed", "bed", "bedroom", 0)
            self.pir("bedroom", start, start + 60_000, 0.5)
            self.contact("bedroom_door", "contact", "bedroom", start + 60_000)
            t = start + 2 * MIN
            if rng.random() < 0.5:
                t = self.bathroom(t)
            if rng.random() < 0.4:
                t = self.kitchen(t, rng.uniform(5, 15))
            back = end - (0 if chair else 3 * MIN)
            dozing = chair or rng.random() < 0.4
            gap = float(rng.uniform(60, 300)) if dozing else self.p.still_gap_min
            t = self.sit(t, max(5.0, (back - t) / MIN), gap_min=gap)
            if chair:
                return
            self.move("bedroom", t)
            self.contact("bedroom_door", "contact", "bedroom", t + 30_000)
            if pad:
                self.emit(t + 2 * MIN, "bed", "bed", "bedroom", 1)


def synthetic_home(
    name: str, days: int, seed: int, start: str = "2024-01-01T00:00:00", layout: str | None = None
) -> tuple[HomeLog, Profile]:
    """One seeded home of ``days`` days (the log starts at local midnight ``start``); ``layout``: a
    held-out sensor layout for a home with motion sensors (:func:`lab.homes.residents.sensor_layout`)."""
    rng = np.random.default_rng(seed)
    p = profile(rng)
    # the commuter draws come from a stream of their own, so the other profiles stay as they were
    extra = np.random.default_rng([seed, 1])
    if extra.random() < COMMUTER_SHARE:
        p = commuter(p, extra)
    # late sleepers and sticky mats from streams of their own too (the other draws stay as they were)
    habits = np.random.default_rng([seed, 2])
    if habits.random() < LATE_SLEEPER_SHARE and not p.away_days:  # (a commuter is out by 10:30)
        p = late_sleeper(p, habits)
    if (p.bed_pad or p.seat_pad) and habits.random() < STICKY_MAT_SHARE:
        p = dataclasses.replace(p, sticky_mats=True)
    # the night traits from a stream of their own, their events from another
    p = night_traits(p, np.random.default_rng([seed, 3]))
    p = sensor_layout(p, np.random.default_rng([seed, 5]), layout)
    p = tv_evenings(p, np.random.default_rng([seed, 6]))
    rows: list[Row] = []
    builder = _Day(p, rng, rows, np.random.default_rng([seed, 4]), np.random.default_rng([seed, 7]))
    t0 = iso_to_ms(start)
    wakes = [t0 + d * DAY + (p.wake_h + rng.normal(0, p.wake_sd_h)) * HOUR for d in range(days + 1)]
    for d in range(days):
        day0 = t0 + d * DAY
        bed = day0 + (p.bed_h + rng.normal(0, p.bed_sd_h)) * HOUR
        weekday = (day0 // DAY + 3) % 7  # 1970-01-01 was a Thursday
        if weekday >= 5:
            away = p.weekend_out_p > 0 and extra.random() < p.weekend_out_p
        else:
            away = weekday in p.away_days and extra.random() < p.away_p
        builder.day(day0, wakes[d], bed, wakes[d + 1], away)
    builder.flush_pads(wakes[days])
    first, last = int(wakes[0]) - 60_000, t0 + days * DAY + int(6 * HOUR)
    rows = sorted(r for r in rows if first <= r[0] <= last)
    return log_of_rows(rows, entry=HomeEntry(f"{name}.csv", name, first, last)), p


def synthetic_set(
    n_homes: int,
    days: int,
    seed: int,
    layout: str | None = None,
    door_open: float = 0.0,
    enrolled_sd_min: float | None = None,
) -> list[HomeLog]:
    """``n_homes`` homes (home ``i`` seeded ``(seed, i)``) in a held-out ``layout``, bedroom doors open on a
    ``door_open`` share of nights (:func:`door_left_open`), enrolled if ``enrolled_sd_min`` (:func:`enrol`)."""
    seeds = [int(np.random.SeedSequence([seed, i]).generate_state(1)[0]) for i in range(n_homes)]
    made = [synthetic_home(f"synth_{seed}_{i:02d}", days, s, layout=layout) for i, s in enumerate(seeds)]
    homes = enrol(made, seeds, enrolled_sd_min)
    if door_open <= 0:
        return homes
    return [door_left_open(log, door_open, np.random.default_rng([s, 8])) for log, s in zip(homes, seeds, strict=True)]


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - command line
    from lab.homes.sets import add_set_arguments, homes_of

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    add_set_arguments(parser, log_dir=False)
    args = parser.parse_args(argv)
    write_log_set(args.out, homes_of(args))


if __name__ == "__main__":  # pragma: no cover
    main()
