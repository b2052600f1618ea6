"""The night-exit kernel (:mod:`stream.kernels.exits`) against a plain-Python twin written from its
docstring, on drawn event sequences and on the cases the rules are about."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from stream.kernels import exits as x

M = 60_000
H = 60 * M
DAY = 24 * H
GRACE = 10 * M
WATCH = (22 * 60, 6 * 60)  # 22:00-06:00, across midnight


@dataclass
class Twin:
    """One resident as the kernel's docstring says, with plain Python state."""

    start: int = -1
    end: int = -1
    offset: int = 0
    door: int = -1
    inside: int = -1
    exit: int | None = None  # the out spell's first door event; None: not out
    told: bool = False

    def watched(self, t: int) -> bool:
        if self.start < 0 or self.start == self.end:
            return False
        minute = (t // M + self.offset) % 1440
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def due(self) -> float:
        if self.exit is None or self.told or self.start < 0 or self.start == self.end:
            return float("inf")
        t0 = self.door + GRACE
        if self.watched(self.exit) or self.watched(self.door) or self.watched(t0):
            return t0
        t = t0 // M * M
        while not self.watched(t):  # minute by minute to the watch's start
            t += M
        return t

    def fire(self, now: int) -> list[tuple[int, int, int, int]]:
        due = self.due()
        if due > now:
            return []
        assert self.exit is not None
        self.told = True
        return [(self.exit, int(due), self.door, self.inside)]

    def event(self, t: int, code: int) -> list[tuple[int, int, int, int]]:
        told = self.fire(t)
        if code == x.XE_DOOR:
            if t >= self.inside and self.exit is None:
                self.exit, self.told = t, False
            self.door = max(self.door, t)
        elif code == x.XE_INSIDE:
            self.inside = max(self.inside, t)
            if t > self.door:
                if self.told and self.exit is not None:  # back inside after the alert
                    told.append((self.exit, x.BACK, self.door, t))
                self.exit, self.told = None, False
        return told


def kernel(n: int, watches: list[tuple[int, int] | None], offset: int = 0) -> np.ndarray:
    st = x.new_exit_state(n, offset)
    for r, watch in enumerate(watches):
        if watch is not None:
            st[r, x.X_FROM], st[r, x.X_TO] = watch
    return st


def run(st: np.ndarray, events: list[tuple[int, int, int]]) -> list[tuple[int, int, int, int, int]]:
    res = np.array([e[0] for e in events], dtype=np.int64)
    ts = np.array([e[1] for e in events], dtype=np.int64)
    code = np.array([e[2] for e in events], dtype=np.int64)
    out = np.zeros((max(1, 2 * len(events)), 5), dtype=np.int64)
    n = x.exits_process(st, res, ts, code, GRACE, out)
    return [tuple(row) for row in out[:n].tolist()]


def advance(st: np.ndarray, now: int) -> list[tuple[int, int, int, int, int]]:
    out = np.zeros((st.shape[0], 5), dtype=np.int64)
    n = x.exits_advance(st, st.shape[0], now, GRACE, out)
    return [tuple(row) for row in out[:n].tolist()]


def at(day: int, hour: float) -> int:
    return day * DAY + int(hour * H)


def test_out_of_the_door_at_night_and_nothing_inside_is_told_once_after_the_grace() -> None:
    st = kernel(1, [WATCH])
    leaving = [(0, at(1, 2.5) - M, x.XE_INSIDE), (0, at(1, 2.5), x.XE_DOOR), (0, at(1, 2.5) + 30_000, x.XE_DOOR)]
    assert run(st, leaving) == []
    door = at(1, 2.5) + 30_000
    assert advance(st, door + GRACE - 1) == []
    assert advance(st, door + GRACE) == [(0, at(1, 2.5), door + GRACE, door, at(1, 2.5) - M)]
    assert advance(st, door + 5 * GRACE) == []  # once
    # back through the door: no second alert for the same night out until someone is seen inside
    assert run(st, [(0, door + 3 * H, x.XE_DOOR), (0, door + 3 * H + 30_000, x.XE_DOOR)]) == []
    assert advance(st, door + 4 * H) == []
    back = door + 4 * H  # seen inside: back, once (the notice on the alert), and ready for the next time
    assert run(st, [(0, back, x.XE_INSIDE), (0, back + M, x.XE_INSIDE)]) == [
        (0, at(1, 2.5), x.BACK, door + 3 * H + 30_000, back)
    ]
    assert st[0, x.X_EXIT] == -1 and st[0, x.X_TOLD] == 0


def test_activity_inside_after_the_door_ends_the_wait() -> None:
    st = kernel(1, [WATCH])
    assert run(st, [(0, at(1, 23), x.XE_DOOR), (0, at(1, 23) + 2 * M, x.XE_INSIDE)]) == []
    assert advance(st, at(1, 23) + 5 * GRACE) == []
    # the same millisecond as the door is no evidence either way: the safe reading, still out
    assert run(st, [(0, at(2, 1), x.XE_INSIDE), (0, at(2, 1), x.XE_DOOR), (0, at(2, 1), x.XE_INSIDE)]) == []
    assert [row[1] for row in advance(st, at(2, 1) + GRACE)] == [at(2, 1)]


def test_out_since_before_the_watch_is_told_when_it_begins() -> None:
    st = kernel(3, [WATCH, (60, 300), WATCH])
    days_out = [(0, at(1, 20), x.XE_DOOR), (1, at(1, 20), x.XE_DOOR)]
    back_in_time = [(2, at(1, 20), x.XE_DOOR), (2, at(1, 21.5), x.XE_DOOR), (2, at(1, 21.5) + M, x.XE_INSIDE)]
    assert run(st, sorted(days_out + back_in_time, key=lambda e: e[1])) == []
    assert advance(st, at(1, 22) - 1) == []
    assert advance(st, at(1, 22)) == [(0, at(1, 20), at(1, 22), at(1, 20), -1)]
    assert advance(st, at(2, 1)) == [(1, at(1, 20), at(2, 1), at(1, 20), -1)]  # its watch begins at 01:00
    # back at 21:55 with nothing inside before the watch: told at the door's grace, 22:05
    st = kernel(1, [WATCH])
    run(st, [(0, at(1, 18), x.XE_INSIDE), (0, at(1, 18.5), x.XE_DOOR), (0, at(1, 21) + 55 * M, x.XE_DOOR)])
    assert advance(st, at(1, 22) + 5 * M) == [(0, at(1, 18.5), at(1, 22) + 5 * M, at(1, 21) + 55 * M, at(1, 18))]


def test_gone_out_at_the_end_of_the_watch_is_told_after_it() -> None:
    st = kernel(1, [WATCH])
    run(st, [(0, at(1, 5) + 55 * M, x.XE_DOOR)])
    assert [row[2] for row in advance(st, at(1, 6) + 5 * M)] == [at(1, 6) + 5 * M]


def test_a_watch_set_or_taken_off_while_out_applies_at_once() -> None:
    st = kernel(1, [None])
    run(st, [(0, at(1, 2), x.XE_DOOR)])
    assert advance(st, at(1, 3)) == []
    st[0, x.X_FROM], st[0, x.X_TO] = WATCH
    assert [row[1] for row in advance(st, at(1, 3))] == [at(1, 2)]
    st = kernel(1, [WATCH])
    run(st, [(0, at(1, 2), x.XE_DOOR)])
    st[0, x.X_FROM], st[0, x.X_TO] = -1, -1
    assert advance(st, at(2, 3)) == []


def test_only_watched_residents_in_their_watch() -> None:
    st = kernel(3, [WATCH, None, (60, 300)])
    events = []
    for r in range(3):  # out and back in: at noon, just before the watch, at its end (exclusive)
        for hour in (12.0, 21.99, 6.0):
            events += [(r, at(1, hour), x.XE_DOOR), (r, at(1, hour) + 6 * M, x.XE_INSIDE)]
    events += [(r, at(2, 3), x.XE_DOOR) for r in range(3)]  # then all three out at 03:00
    assert run(st, sorted(events, key=lambda e: e[1])) == []
    assert [row[0] for row in advance(st, at(2, 3) + GRACE)] == [0, 2]  # never 1: no watch


def test_the_homes_clock_decides_the_hour() -> None:
    st = kernel(1, [WATCH], offset=480)  # UTC+8: 15:00 UTC is 23:00 at home
    assert run(st, [(0, at(1, 15), x.XE_DOOR)]) == []
    assert len(advance(st, at(1, 15) + GRACE)) == 1
    st = kernel(1, [WATCH], offset=480)
    assert run(st, [(0, at(1, 23), x.XE_DOOR)]) == []  # 07:00 at home: out by day
    assert advance(st, at(1, 23) + GRACE) == []
    assert [row[2] for row in advance(st, at(2, 14))] == [at(2, 14)]  # still out at 22:00 at home


def test_an_event_after_the_due_time_fires_first_then_counts() -> None:
    st = kernel(1, [WATCH])
    back = at(1, 2) + GRACE + M
    told = run(st, [(0, at(1, 2), x.XE_DOOR), (0, back, x.XE_INSIDE)])
    assert told == [(0, at(1, 2), at(1, 2) + GRACE, at(1, 2), -1), (0, at(1, 2), x.BACK, at(1, 2), back)]
    assert st[0, x.X_EXIT] == -1  # and then seen inside: ready for the next time


def test_out_of_order_events_do_not_move_the_door_back_or_end_the_spell() -> None:
    st = kernel(1, [WATCH])
    run(st, [(0, at(1, 2), x.XE_DOOR), (0, at(1, 2) - M, x.XE_DOOR), (0, at(1, 2) - 30_000, x.XE_INSIDE)])
    assert st[0, x.X_DOOR] == at(1, 2) and st[0, x.X_EXIT] == at(1, 2)
    st = kernel(1, [WATCH])
    run(st, [(0, at(1, 2), x.XE_INSIDE), (0, at(1, 2) - M, x.XE_DOOR)])  # a door older than the activity
    assert st[0, x.X_EXIT] == -1 and advance(st, at(1, 4)) == []


@pytest.mark.parametrize(
    ("minute", "start", "end", "inside"),
    [(0, 1320, 360, True), (359, 1320, 360, True), (360, 1320, 360, False), (1320, 1320, 360, True),
     (1319, 1320, 360, False), (60, 60, 300, True), (300, 60, 300, False), (100, -1, -1, False),
     (100, 100, 100, False)],
)  # fmt: skip
def test_in_watch_edges(minute: int, start: int, end: int, inside: bool) -> None:
    assert x.in_watch(minute * M, 0, start, end) is inside
    assert Twin(start, end).watched(minute * M) is inside


@pytest.mark.parametrize("seed", range(12))
def test_the_kernel_is_its_twin_on_drawn_nights(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_res = 4
    watches: list[tuple[int, int] | None] = [WATCH, (0, 300), None, (int(rng.integers(0, 1440)), 420)]
    offset = int(rng.choice([0, 480, -300]))
    st = kernel(n_res, watches, offset)
    twins = [Twin(*(w or (-1, -1)), offset=offset) for w in watches]
    t = 0
    told = 0
    for _batch in range(60):
        events: list[tuple[int, int, int]] = []
        for _ in range(int(rng.integers(0, 12))):
            t += int(rng.exponential(20 * M))
            jitter = int(rng.integers(-2 * M, M)) if rng.random() < 0.1 else 0  # now and then out of order
            code = int(rng.choice([x.XE_DOOR, x.XE_INSIDE], p=[0.3, 0.7]))
            events.append((int(rng.integers(0, n_res)), max(0, t + jitter), code))
        expected = []
        for r, ts, code in events:
            expected += [(r, *row) for row in twins[r].event(ts, code)]
        assert run(st, events) == expected
        t += int(rng.exponential(15 * M))
        due = [(r, *row) for r in range(n_res) for row in twins[r].fire(t)]
        assert advance(st, t) == due
        told += len(expected) + len(due)
    assert told > 0  # the drawn nights did go out
