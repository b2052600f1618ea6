"""Home-activity kernels: silence timers with a per-home routine learned online.

State is columnar, one row per resident slot:

- ``si[r, S_*]`` (int64): the current silence (start = last activity, epoch ms), its deadline,
  the alert kind and context chosen at its start, bed/seat occupancy, the night-absence timer, the
  home's UTC offset (minutes) and the wake-time sample count.
- ``hist[r, c, h, b]`` (float32): for learned context ``c`` (0 active, 1 resting, 2 seated,
  3 bedroom; see :func:`hist_index`) and local clock hour ``h``, counts of the silence *elapsed so
  far* ``L ≥ sample_min_s`` reached in hour ``h`` (each completed silence counts once in every hour
  it spans, with its elapsed length at the end of its part of that hour; :func:`_add_span`), in
  log-spaced bins ``b = ⌊ln(L / sample_min_s) / ln(ρ)⌋``, ``ρ = (hist_max_s / sample_min_s)^(1/B)``,
  faded by ``decay`` per local day; ``si[r, S_EXPO]`` counts the days of history with the same
  fading (``D ← decay · D + 1`` per day), so ``counts / D`` are rates per day.
- ``hist[r, PRESENCE_ROW, h, 0]`` (float32): the presence row, hours the resident spent at home
  while the local clock was in hour ``h``, faded with the counts: every silence but one that began
  and ended at the entrance door (out and back; a door does not tell going out from coming in, but
  a silence after the door that ends with activity inside was spent at home: they had come in, or
  only opened the door); divided by the pool weight ``1 + 2w`` over rows
  ``h−1, h, h+1`` it is the faded number of days with the resident at home around ``h``
  (:func:`presence_days`). The other bins of the row stay 0.
- ``wake[r, k]`` (int32, ``2K`` columns, :func:`new_rings`): a ring of the last ``K`` wake-up times,
  minutes after local midnight (columns ``[0, K)``), and of the last ``K`` bed times, minutes after
  local *noon* (columns ``[K, 2K)``; a bed time is the start of the night's rest in the bedroom or
  bed, bathroom trips included, recorded with the wake-up that ends it).

Thresholds (seconds), computed when a silence starts at ``t0`` (local hour ``h``):

- active / seated / bedroom / resting silence (by day): per local hour ``H`` pool rows ``H−1, H,
  H+1`` with weights ``(w, 1, w)``; ``Q_H`` is the silence the home has been in more than ``rate``
  times per day while the clock was in ``H`` (the upper edge of the longest bin whose tail count
  exceeds ``rate · D``; ``prior_count`` pseudo-samples at the fixed limit). Once the home has
  ``learn_s`` of history the deadline is the first moment ``τ`` with ``τ − t0 ≥ margin · Q_{H(τ)}``,
  between ``t0 + floor_c`` and ``t0 + ceil_c`` (:func:`span_deadline`): the silence is judged
  against each hour it runs into, not only the hour it started in (in the spirit of the survival /
  "inactivity score" of Wilhelm & Wahl 2024), so a silence that starts at 10:40 in a quiet hour
  but reaches 12:00, where the home is rarely that quiet, alerts at the hour it becomes unusual,
  and a silence that starts before the usual nap gets the nap hours' limit. Before that the
  conservative fixed limit of the context; at night the resting limits with ``night_floor_s``.
- minimum evidence: the tail is counted per calendar day (``rate · D``), which is right for a home
  that is occupied every day, but where the resident is usually out at an hour (a day centre on
  weekdays), the few days at home there cannot show that a two-hour quiet spell is ordinary, and the
  per-day rate of long silences is tiny whatever they do on those days: the limit falls to the
  floor and an ordinary quiet afternoon at home alerts. The counts must exceed ``rate · D``; with
  ``P`` days at home around the hour, a quiet spell must then come on more than ``rate · D / P`` of
  those days to count as ordinary, which for small ``P / D`` no ordinary habit does (and a handful
  of days is too few to tell). So in an hour whose window holds fewer than ``min_presence · D``
  faded days of presence (:func:`presence_days`) the limit is at least ``margin · floor`` (the
  floor itself treated as the usual silence, as with any learned one): without the evidence, the
  limit is not lowered below what the floor alone would give. Homes occupied at that hour are
  untouched; the share is relative to ``D``, so it holds from the end of the learning period on.
- thin contexts: the same holds for a context the resident is seldom in around an hour. With fewer
  than ``thin_factor · rate · D`` pooled samples (:func:`pooled_count`) no tail can exceed the
  budget, so the limit would fall to the floor whatever is usual (in a home with contacts only, a
  wardrobe door by day starts a "bedroom" silence that is then spent unseen in the living room);
  there the limit is at least the active row's of that hour (hc 0), which holds all the resident's
  everyday silences. Only ever longer than before.
- context: resting while the bed pad is occupied, or the seat pad at night, or when the last
  activity was in the bedroom at night, or at night after a night-time resting silence (a trip to
  the toilet from bed is followed by more sleep: without a bed pad, the toilet door is the last
  activity of the night) in the bathroom, or elsewhere once tonight's rest has lasted
  ``trip_rest_s`` (:func:`_trip_from_bed`: a minute in the bedroom at 20:30 to change, then the
  living room, is an evening, not a night's sleep; issue #14); seated while the seat pad is
  occupied by day; away after the entrance door; bathroom after bathroom motion; bedroom after any
  other activity in the bedroom by day (silences there, dressing or a nap without a bed pad, run
  longer than in the kitchen or living room: learning them apart lets the other rooms keep short
  limits); seated while the seat pad is stale (it did not let go when the resident got up, so their
  return to the chair would not show either), right after coming in too (the pad held "occupied"
  while they were out: seated as one who sat down at once), in the bedroom in the evening before the
  early edge of the bed times too (not going to bed early), and resting in the bedroom while the bed
  pad is; else active.
- the night runs on until the usual wake-up (issue #14): past ``night_end_h`` but before the early
  edge of the learned wake-ups (the ``wake_q`` quantile − 60 min, :func:`_before_wake`), a silence
  that starts in the bedroom is resting, and so is one after the toilet's door or flush while
  tonight's rest goes on (only the entrance door ends it there: the hall on the way to the toilet
  does not); a resident who wakes at 08:00 and is back in bed from the toilet at 06:20 is asleep,
  not "bedroom by day" with its daytime floor. Those back-to-bed silences no longer teach the bedroom
  and active histograms that mornings are long either. On the synthetic tuning seeds 0 and 1 this
  removed 9 of 39 false alerts (all at 06:00–06:45, after a toilet trip), delays unchanged.
- resting silence started at night (local hour in ``[night_start_h, 24) ∪ [0, night_end_h)``, or
  in the morning as above):
  NOT_UP at the next local ``wake_min`` (``q_wake`` quantile of recent wake-ups + margin, clamped; a
  fixed default until ``wake_min_samples``), no earlier than ``rest_min_s`` and no later than
  ``rest_ceil_s`` after the silence started.
- away (the entrance door was the last activity): ``away_limit_s`` (0: never).
- bathroom (a motion sensor in the bathroom was the last activity): ``bath_limit_s``, BATHROOM_LONG;
  unless the home has lately shown exits from the bathroom that no sensor saw (:func:`bath_blind`):
  then the silence is active. On a night-time trip from bed the bathroom keeps tonight's rest, its
  door or flush after the motion included: a return to bed no sensor sees is still the night. So
  does bathroom motion itself while the bed pad is stale (a pad that stays "occupied" while the
  resident is in the bathroom will not show the return to bed either: without this every night's
  toilet trip was an hour's bathroom stay).
- a motion sensor clearing (``EV_MOTION_END``) is activity until then when the silence began with
  motion in its room (``S_MOTION_ROOM``): it held "occupied" while motion went on (a retriggerable
  PIR, motion logged as intervals); elsewhere it is no sign of the resident (they left that room).
- bed left at night before the usual wake-up: NIGHT_ABSENCE after ``absence_s`` without activity
  (each activity while still "at night" restarts it; activity past the early edge of the learned
  wake-ups means up for the day, :func:`_up_at_night`, and is no trip from bed either; sitting down
  on a seat pad or going out through the entrance door ends it, coming back in restarts it).
  Without a bed pad that lets go, leaving the bedroom after a quiet spell there arms it
  (:func:`_leaves_rest`), and it alerts where this home's trips have come back to the bedroom in
  time (:func:`trips_watched`; its runs count either way). In a home where
  ``abs_runout_n`` night absences (faded: ``S_ABS_RUNOUTS``) were lately followed by the resident
  moving again within ``absence_up_s``, not by the entrance door (:func:`_seen_after_absence`), every
  trip is given ``absence_up_s`` (:func:`_trip_limit`): its resident sits up where no sensor sees,
  and the sleepless allowance would have spared those alerts.

A home's first weeks (a detector that knows how little it knows): before ``wake_min_samples``
wake-ups, NOT_UP is due at the population prior ``wake_default_min`` but never before the night
has lasted ``prior_sleep_s`` (a late sleeper in bed at 01:00 is not "not up" at 11:00), or at the
archive's usual wake-up + margin + ``wake_unsure_min`` when it was recorded at enrolment
(``S_ENROLL_WAKE``, possibly earlier; a time told at the door is one number, as unsure as one
wake-up seen, and the night ends for :func:`_up_at_night` at it − ``wake_unsure_min``), and never
before the latest wake-up of the few nights seen + margin + ``wake_unsure_min``
(:func:`early_wake_min`). Before a bed trace is known a seat pad at night is rest, but going to bed
after it starts the night's sleep there: the night's ``prior_sleep_s`` counts from the bed, not from
the armchair. A daytime silence before ``learn_s`` is due at the first days' prior
(``early_prior_s``, at most ``early_morning_s`` for one that starts between ``night_end_h`` and noon:
mornings are busier than afternoons), widened by the longest silences seen so far
(:func:`early_deadline`) and, once the resident has spent ``early_evidence_h`` daytime hours at
home (:func:`daytime_hours_home`, a day's), an up-and-about silence in the daytime hours no longer
than ``margin ·`` the longest daytime one of its kind seen so far (:func:`longest_daytime`; not
below where the prior narrows to); so is a nap on the bed pad once it starts after the early edge of that
"not up" minute (:func:`_nap`), not ten hours of rest. The detection's ``basis`` column names what the
deadline relied on
(``B_FIXED`` population / fixed limits, ``B_LEARNED``, ``B_ENROLLED``, ``B_OBSERVED``) with flags
``W_EVENING`` / ``W_ARRIVED`` when the rules below brought it forward.

Evening: once the home has shown that going to bed leaves a trace (a bed time learned: ``S_NBED``
> 0), a silence that starts outside the bedroom (active, seated, arrived) at local hours
``[evening_start_h, 24) ∪ [0, night_end_h)`` is not taken for a night's sleep: it keeps its own
context's limits (no night floor, a seat pad at night is seated, not resting) with floor at least
``evening_floor_s``, and until those are learned it is due by the usual bed time
(:func:`bed_line_min`: the ``bed_q`` quantile of recent bed times, or the archive's, or the
population prior, + ``bed_margin_min``), between ``evening_floor_s`` and ``evening_ceil_s`` after it
began (``late_floor_s`` when it began after that line). Whatever the learned evenings and however late
the usual bed time, it is due at most ``evening_max_s`` after it began (``W_EVENING_MAX``; 0: no
cap): a collapse at 19:00 must not wait for a bed time at 02:00. A daytime silence outside the
bedroom that runs into the evening is bounded as one from the evening's start: due at most
``evening_max_s`` (seated, the allowance below) after ``evening_start_h``. A seated silence (the seat pad
occupied) in a home whose learned seated limit at that hour is longer (in the first days: ``margin ×``
the longest seated silence seen around that hour) gets that limit up to ``evening_seat_max_s``
instead: some residents sit through the TV evening without getting up, and in a home that sees the
armchair only through its seat pad each such evening is one long silence. The toilet before bed is
followed by the bedroom, so with ``evening_bath`` (1) a silence that starts right after the bathroom (a flush, the
bathroom door) is an evening silence too, not a night's sleep; as the resident may also go to bed
from there without a trace (a bedroom door left open), it gets the whole evening allowance: due
``evening_max_s`` after it began. With ``evening_bath`` 0 the bathroom counts as a trace of going to
bed (the rules before issue #14).

Nights without a trace (``untraced_nights``): a night is counted at its wake-up, in ``S_NIGHTS_TRACED``
when tonight's rest was in the bedroom or on the bed pad (``S_REST_TRACED``), else in
``S_NIGHTS_UNTRACED`` (a rest on the seat pad, or a silence that began outside the bedroom in the
evening hours, lasted ``min_sleep_s`` and ended in the wake-up window: its start is that night's bed
time and its end a wake-up). Where the untraced outnumber the traced (faded by ``decay``;
:func:`traceless`: nothing in the bedroom, for privacy, or a bedroom door left open) the night starts
wherever the last activity was, and going to bed is told by the clock: a night-time silence outside
the bedroom past the early edge of the bed times (:func:`bed_edge_min`, the ``1 − bed_q`` quantile −
``bed_margin_min``) is tonight's rest (NOT_UP at the wake-up), and one earlier stays an evening
silence. A silence right after the toilet is so already where ``untraced_bath_share`` of the nights
left no trace (a bedroom door left open on some nights: the toilet is then the last trace of bed).
Where ``bed_bath_share`` of the untraced nights began right after the toilet (``S_NIGHTS_BATH``: the
bathroom within ``BED_BATH_WINDOW_MS`` of the silence), going to bed leaves that trace: a silence past
the edge that starts elsewhere with no toilet before it, before tonight's rest (``S_REST_FIRST``) has
lasted ``trip_rest_s``, stays an evening silence.
A long evening silence that ends at night in a home whose nights leave no trace was sleep, so the
activity that ends it is a trip from bed and the night's bed time is its start, not the return from
the trip.

Early sleepers (``early_nights``): the night hours are a fixed window, but a resident in bed at
19:30 is asleep. A silence in the bedroom that began in the evening hours and ended in the wake-up
window after ``min_sleep_s`` is a night (traced), and once one is known the night begins at the
early edge of the bed times (:func:`_early_night`, from ``bed_floor_min``, before ``night_start_h``):
the bedroom there is rest (NOT_UP at the wake-up), not the bedroom by day with its daytime ceiling. A
whole night's sleep (``full_night_s`` since its bed time) may have begun in the bedroom from
``bed_floor_min`` and end from ``wake_early_lo_min``, before the evening hours and the wake-up
window (in bed at 17:30, up at 03:30); a shorter rest that ends before the window is a trip from bed.

Arrivals: entrance-door events less than ``door_pair_s`` apart are one passage, and so are a door's
opening and its closing however long it was held open; a passage that ends an away silence of at
least ``away_min_s`` is coming in. A passage sooner than that after going out is taken for going
out again (back for the keys: in and out within a minute is one passage), not for coming in: on
van Kasteren's house A (contacts only), counting every second passage as coming in put long evenings
out into the learned limits (daytime detection 2 h 05 → 3 h 00, evening 2 h 58 → 3 h 45, false
alerts doubled). Such a passage (``DOOR_UNSURE``: back from the letter box, or out again) is not
certainly out either: taken for out, a resident who collapsed in the hall before touching anything
was never due. Its silence is away but due once this resident's outings would be over
(:func:`back_soon_limit_s`, flagged ``W_BACK_SOON``); the passage after it is out again (passages
alternate: turning back for the keys). The silence after coming in, and one starting
within ``arrival_window_s`` of it, is ``arrived`` (learned as active) and due after at most
``arrival_limit_s``; so is a seated silence that starts within that window (sat down at once), and
one in the bedroom (straight there from the door is not yet gone to bed, unless the bed pad says so).

Pressure pads (``S_BED`` / ``S_SEAT``: ``PAD_FREE``, ``PAD_ON``, ``PAD_STALE``): only a change of state
is activity; a pad repeating "occupied" is not (occupied for long is not activity), but a pad letting
go before anything else of the home was seen is (monitoring began while the resident lay or sat
there: without it, a fall right after getting up on the first morning started no silence). Activity in
another room or at the entrance door at least ``PAD_SETTLE_MS`` after a pad was occupied makes it
stale: no longer believed until it lets go (which is then no activity either). A stale pad letting
go ``PAD_LATE_MS`` or more after it went stale is counted (``S_BED_LATE`` / ``S_SEAT_LATE``, faded):
a pad that holds long after its sitter left, for :mod:`stream.pads` to name.

A silence alerts once; if the home is unmonitored at its deadline (``monitored[r] = 0``) it is
suppressed instead (the supervisor reports UNMONITORED). The activity that ends a silence which
alerted, or the first after a night absence that alerted, is a ``K_MOVING`` row naming that alert
(:func:`_moving_again`): a notice, not an alert. Local time = epoch ms + offset·60 000.
Events older than the current silence start are ignored for timing (late delivery).

Why one module of ~1800 lines: it is one kernel, one compilation unit (the silence timers and the
routine they learn share one state layout, ``S_*`` / ``hist`` / ``wake``, that every function here
indexes, and call each other's small ``@njit`` helpers); split, the layout would have to be
repeated or imported piecewise by each part, the helpers would become cross-module ``@njit`` calls
with a longer cold compile, and the docstring above is its map.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

try:  # one place for Numba flags when the package defines it
    from stream.kernels import JIT
except ImportError:  # pragma: no cover - depends on the shared package
    JIT = {"cache": True}

NEVER = np.iinfo(np.int64).max
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MIN_MS = 60_000

# contexts of a silence
CTX_ACTIVE = 0
CTX_REST = 1
CTX_AWAY = 2
CTX_BATH = 3
CTX_SEATED = 4
CTX_BEDROOM = 5  # up and about, the last activity in the bedroom by day (dressing, a nap without a bed pad)
CTX_ARRIVED = 6  # just came in through the entrance door (learned as active)
CTX_NAMES = ("active", "resting", "away", "bathroom", "seated", "bedroom", "arrived")
N_LEARNED = 4  # contexts with a learned histogram: active, resting, seated, bedroom (hist index below)
PRESENCE_ROW = N_LEARNED  # hist[r, PRESENCE_ROW, h, 0]: faded hours at home (not away) in local hour h
N_HIST_ROWS = N_LEARNED + 1

# event codes
EV_IGNORE = 0  # seen, not activity (a status, a pad with no "occupied")
EV_ACTIVITY = 1  # motion, contact, flush, appliance
EV_DOOR = 2  # entrance door
EV_BED = 3
EV_SEAT = 4
EV_PRESENCE = 5  # someone is there (a radar), moving or not: not activity, but they are home
EV_MOTION_END = 6  # a motion sensor clearing: motion went on until now (activity if the silence began with it)

# room codes
ROOM_OTHER = 0
ROOM_BATH = 1
ROOM_BED = 2

# pad states (S_BED, S_SEAT)
PAD_FREE = 0
PAD_ON = 1
PAD_STALE = 2  # reports "occupied", but the resident was seen elsewhere since: not believed until it lets go

# basis of a deadline (low bits of the detection's ``basis`` column) and why it was brought forward
B_FIXED = 0  # fixed limits / population priors
B_LEARNED = 1  # this home's learned routine
B_ENROLLED = 2  # the wake / bed time recorded at enrolment (the archive)
B_OBSERVED = 3  # the few nights seen so far (not yet enough to learn from)
B_MASK = 3
W_EVENING = 4  # an evening silence that never reached the bedroom, due by the usual bed time
W_ARRIVED = 8  # a silence right after coming in through the entrance door
W_EVENING_MAX = 16  # an evening silence that never reached the bedroom, due ``evening_max_s`` after it began
W_UNTRACED = 32  # NOT_UP for a rest not seen in the bedroom or bed (a night told by the clock, the armchair)
W_BACK_SOON = 64  # a silence since a passage through the entrance door soon after going out (in, or out again)

DOOR_OUT = 0
DOOR_IN = 1
DOOR_UNSURE = 2

# detection codes
K_INACTIVITY = 0
K_NOT_UP = 1
K_BATHROOM = 2
K_NIGHT_ABSENCE = 3
K_MOVING = 4  # the resident moved again after one of the alerts above: a notice on it, not an alert
OUT_ROWS_PER_EVENT = 4
"""``home_process`` writes at most this many rows per event: the timers due (two alerts), then the
moving-again notices of both (:func:`_moving_again`)."""

# int state columns
S_LAST = 0
S_DEADLINE = 1
S_DKIND = 2
S_FIRED = 3  # 0 pending, 1 alerted, 2 suppressed (unmonitored)
S_CTX = 4
S_FIRST = 5
S_BED = 6
S_SEAT = 7
S_ABS_DEADLINE = 8
S_ABS_START = 9
S_OFFSET = 10
S_NWAKE = 11
S_THR = 12  # threshold of the current silence, s
S_NIGHT = 13  # 1 if the current silence started at night
S_LEARNED = 14  # 1 if its threshold came from the learned routine
S_DAY = 15  # local day index (days since the epoch) the histograms were last faded to, −1 none
S_EXPO = 16  # faded days of history, in micro-days (fixed point, so kernel and reference agree)
S_BED_ROOM = 17  # room code of the bed pad (set when it is occupied)
S_SEAT_ROOM = 18
S_REST_SINCE = 19  # start of tonight's rest (bedroom or bed, bathroom trips included), −1 none
S_NBED = 20  # bed-time samples so far
S_DOOR_LAST = 21  # last entrance-door event, epoch ms, −1 none
S_DOOR_IN = 22  # the last door passage: DOOR_OUT, DOOR_IN (coming in) or DOOR_UNSURE (back soon after going out)
S_ARRIVED = 23  # when the resident last came in, epoch ms, −1 none
S_ENROLL_WAKE = 24  # usual wake-up from the archive, minutes after local midnight, −1 unknown
S_ENROLL_BED = 25  # usual bed time from the archive, minutes after local midnight, −1 unknown
S_BED_ON = 26  # when the bed pad was last occupied, epoch ms
S_SEAT_ON = 27
S_ABS_OUT = 28  # bed pad let go at night: 0 no, 1 not yet seen out of the bed's room, 2 seen up (S_ABS_UP)
S_ABS_UP = 29  # when first seen out of the bed's room since the pad let go, epoch ms
S_DOOR_OPEN = 30  # 1 if the last entrance-door event was an opening (its closing ends the same passage)
S_MOTION_ROOM = 31  # ROOM_* of the motion that began the current silence, −1 if it was no motion
S_BATH_UNSEEN = 32  # faded count (× EXPO_SCALE) of bathroom exits no sensor saw (:func:`bath_blind`)
S_TRIP = 33  # a night trip no pad armed (:func:`_leaves_rest`): 1 out, 2 its timer ran out, 3 at the bedroom door
S_TRIPS_BACK = 34  # faded count (× EXPO_SCALE) of such trips back in the bedroom before the timer ran out
S_TRIPS_OUT = 35  # faded count (× EXPO_SCALE) of such trips whose timer ran out
S_BEDROOM_SINCE = 36  # since when every activity has been in the bedroom (epoch ms), −1 not there
S_ABS_RUNOUTS = 37  # faded count (× EXPO_SCALE) of night-absence alerts the resident moved again after in time
S_ABS_RAN_OUT = 38  # when tonight's night-absence timer that ran out had started (epoch ms), −1 none
S_NIGHTS_TRACED = 39  # faded count (× EXPO_SCALE) of nights whose rest began in the bedroom or bed
S_NIGHTS_UNTRACED = 40  # faded count (× EXPO_SCALE) of nights whose rest began anywhere else
S_REST_TRACED = 41  # 1 if tonight's rest has been in the bedroom or bed, 0 not (yet)
S_BED_STALE = 42  # when the bed pad went stale (epoch ms), −1 not stale
S_SEAT_STALE = 43
S_BED_LATE = 44  # faded count (× EXPO_SCALE) of the bed pad letting go ≥ PAD_LATE_MS after it went stale
S_SEAT_LATE = 45
S_BED_TOLD = 46  # 1 once :mod:`stream.pads` named the bed pad as letting go late (0 again once it mends)
S_SEAT_TOLD = 47
S_REST_BATH = 48  # 1 if tonight's rest began right after the toilet (the bathroom ≤ BED_BATH_WINDOW_MS before)
S_NIGHTS_BATH = 49  # faded count (× EXPO_SCALE) of untraced nights whose rest began right after the toilet
S_BATH_AT = 50  # the last activity in the bathroom (epoch ms), 0 none
S_REST_FIRST = 51  # when tonight's rest first began (epoch ms; kept while the clock restarts it), −1 none
S_OUT_LONGEST = 52  # the longest outing (out and in through the entrance door), ms, faded by decay per day
N_STATE = 53
PAD_LATE_MS = 3_600_000  # a pad letting go this long after the resident was seen elsewhere: it let go late
BED_BATH_MIN_NIGHTS = 3  # untraced nights (faded) before their toilet-first share is believed
BED_BATH_WINDOW_MS = 600_000  # a silence this soon after the bathroom began right after the toilet
PAD_SETTLE_MS = 60_000  # activity elsewhere this soon after a pad was occupied does not make it stale (clocks, order)

# params (float64)
P_SAMPLE_MIN_S = 0
P_HIST_MAX_S = 1
P_DECAY = 2
P_Q = 3  # unused (was the quantile of the start-hour limit)
P_MARGIN = 4
P_MIN_COUNT = 5
P_LEARN_S = 6
P_ACTIVE_FIXED_S = 7
P_ACTIVE_FLOOR_S = 8
P_ACTIVE_CEIL_S = 9
P_REST_FIXED_S = 10
P_REST_FLOOR_S = 11
P_REST_CEIL_S = 12
P_AWAY_LIMIT_S = 13
P_BATH_LIMIT_S = 14
P_NIGHT_START_H = 15
P_NIGHT_END_H = 16
P_WAKE_DEFAULT_MIN = 17
P_WAKE_Q = 18
P_WAKE_MARGIN_MIN = 19
P_WAKE_FLOOR_MIN = 20
P_WAKE_CEIL_MIN = 21
P_WAKE_MIN_SAMPLES = 22
P_WAKE_WIN_LO_MIN = 23
P_WAKE_WIN_HI_MIN = 24
P_MIN_SLEEP_S = 25
P_ABSENCE_S = 26
P_REST_MIN_S = 27
P_POOL_W = 28
P_PRIOR_COUNT = 29
P_RATE = 30
P_SEAT_FIXED_S = 31
P_SEAT_FLOOR_S = 32
P_SEAT_CEIL_S = 33
P_NIGHT_FLOOR_S = 34
P_MIN_PRESENCE = 35  # share of the days of history at home around an hour below which its limit stays ≥ margin · floor
P_EVENING_START_H = 36
P_EVENING_FLOOR_S = 37
P_BED_DEFAULT_MIN = 38  # population prior of the bed time, minutes after local midnight
P_BED_Q = 39
P_BED_MARGIN_MIN = 40
P_ARRIVAL_LIMIT_S = 41
P_ARRIVAL_WINDOW_S = 42
P_AWAY_MIN_S = 43
P_DOOR_PAIR_S = 44
P_PRIOR_SLEEP_S = 45
P_WAKE_UNSURE_MIN = 46
P_LATE_FLOOR_S = 47  # an evening silence that starts after the usual bed time: due this long after it began
P_EVENING_CEIL_S = 48
P_EVENING_BATH = 49  # 1: the bathroom is no trace of going to bed (only the bedroom is); 0: it is
P_EVENING_MAX_S = 50  # an evening silence outside the bedroom is due at most this long after it began (0: no cap)
P_TRIP_REST_S = 51  # tonight's rest lasted this long: activity in another room at night is a trip from bed (0: always)
P_THIN_FACTOR = 52  # a context with fewer samples around an hour than this × rate × days: no shorter than active
P_ABSENCE_TRIP_S = 53  # up at night this long (since first seen out of the bed's room): a sleepless spell, not a trip
P_ABSENCE_UP_S = 54  # the night-absence limit then (s)
P_EARLY_PRIOR_S = 55  # before learn_days: the population prior limit of a daytime silence (0: the fixed limits)
P_BATH_UNSEEN_S = 56  # a silence begun in the bathroom this long that ends elsewhere: an exit no sensor saw
P_BATH_BLIND_N = 57  # faded count of such exits from which bathroom motion is no sign of someone in there (0: off)
P_EARLY_MORNING_S = 58  # before learn_days: the population prior of a silence that starts in the morning
P_EVENING_SEAT_MAX_S = 59  # the evening cap of a seated silence in a home whose learned seated evenings are longer
P_TRIP_WATCH_N = 60  # night trips no pad armed: alert once this many (faded) came back to the bedroom in time (0: off)
P_TRIP_WATCH_SHARE = 61  # ... and at most this share of them ran out
P_ABS_RUNOUT_N = 62  # night-absence timers run out this often (faded): absence_up_s for every trip (0: off)
P_UNTRACED_NIGHTS = 63  # 1: a home whose nights leave no bedroom trace goes to bed by the clock (0: off)
P_UNTRACED_BATH_SHARE = 64  # from this share of untraced nights the toilet past the bed edge is the night
P_EARLY_NIGHTS = 65  # 1: past the early edge of learned bed times the night begins before night_start_h
P_EARLY_EVIDENCE_H = 66  # first days: home this many daytime hours, at most margin × the longest daytime silence
P_WAKE_EARLY_LO_MIN = 67  # a whole night's sleep may end from this local minute (before wake_window_lo_min)
P_FULL_NIGHT_S = 68  # a rest this long since its bed time is a whole night's sleep
P_BED_FLOOR_MIN = 69  # ... and may have begun from this local minute; the night's early edge is never before it
P_BED_BATH_SHARE = 70  # untraced nights begun after the toilet this often: only the toilet goes to bed by the clock
P_BACK_SOON_CEIL_S = 71  # a silence after a passage back soon after going out: due at most this long after (0: never)
P_BACK_SOON_PRIOR_S = 72  # ... and at least this long before this home's outings are known
N_PARAMS = 73
EXPO_SCALE = 1_000_000.0


def new_hist(capacity: int, hist_bins: int) -> np.ndarray:
    """Fresh learned histograms: ``hist_bins`` length bins per learned context and local hour, and the
    presence row (bin 0 used)."""
    return np.zeros((capacity, N_HIST_ROWS, 24, hist_bins), dtype=np.float32)


def new_rings(capacity: int, buffer: int) -> np.ndarray:
    """Fresh wake-up and bed-time rings: columns ``[0, buffer)`` wake-ups (minutes after local
    midnight), ``[buffer, 2·buffer)`` bed times (minutes after local noon)."""
    return np.zeros((capacity, 2 * buffer), dtype=np.int32)


def new_state(capacity: int, offset_min: int) -> np.ndarray:
    """Fresh resident rows: no silence, no history, the given UTC offset (minutes)."""
    si = np.zeros((capacity, N_STATE), dtype=np.int64)
    for col in (
        S_LAST,
        S_REST_SINCE,
        S_DOOR_LAST,
        S_ARRIVED,
        S_ENROLL_WAKE,
        S_ENROLL_BED,
        S_MOTION_ROOM,
        S_BEDROOM_SINCE,
        S_ABS_RAN_OUT,
        S_BED_STALE,
        S_SEAT_STALE,
        S_REST_FIRST,
    ):
        si[:, col] = -1
    si[:, S_LAST] = -1
    si[:, S_DEADLINE] = NEVER
    si[:, S_FIRST] = -1
    si[:, S_ABS_DEADLINE] = NEVER
    si[:, S_ABS_START] = -1
    si[:, S_OFFSET] = offset_min
    si[:, S_DAY] = -1
    return si


@njit(**JIT)
def hist_index(ctx: int) -> int:
    """Row of ``hist`` learning silences of context ``ctx`` (−1: not learned)."""
    if ctx == CTX_ACTIVE:
        return 0
    if ctx == CTX_REST:
        return 1
    if ctx == CTX_SEATED:
        return 2
    if ctx == CTX_BEDROOM:
        return 3
    if ctx == CTX_ARRIVED:
        return 0
    return -1


@njit(**JIT)
def fade_to_day(si: np.ndarray, hist: np.ndarray, r: int, t: int, params: np.ndarray) -> None:
    """Fade resident ``r``'s histograms by ``decay`` per local day up to the day of ``t`` and count the
    days of history: ``D ← decay · D + 1`` per new day (``D`` = 1 on the first day)."""
    day = (t + si[r, S_OFFSET] * MIN_MS) // DAY_MS
    last = si[r, S_DAY]
    if last < 0:
        si[r, S_DAY] = day
        si[r, S_EXPO] = int(EXPO_SCALE)
        return
    if day <= last:
        return
    decay = params[P_DECAY]
    factor = 1.0
    expo = si[r, S_EXPO] / EXPO_SCALE
    for _ in range(min(day - last, 3660)):
        factor *= decay
        expo = expo * decay + 1.0
    for c in range(hist.shape[1]):
        for h in range(hist.shape[2]):
            for b in range(hist.shape[3]):
                hist[r, c, h, b] = hist[r, c, h, b] * factor
    si[r, S_DAY] = day
    si[r, S_EXPO] = int(expo * EXPO_SCALE)
    si[r, S_BATH_UNSEEN] = int(si[r, S_BATH_UNSEEN] * factor)
    si[r, S_TRIPS_BACK] = int(si[r, S_TRIPS_BACK] * factor)
    si[r, S_TRIPS_OUT] = int(si[r, S_TRIPS_OUT] * factor)
    si[r, S_ABS_RUNOUTS] = int(si[r, S_ABS_RUNOUTS] * factor)
    si[r, S_NIGHTS_TRACED] = int(si[r, S_NIGHTS_TRACED] * factor)
    si[r, S_NIGHTS_UNTRACED] = int(si[r, S_NIGHTS_UNTRACED] * factor)
    si[r, S_NIGHTS_BATH] = int(si[r, S_NIGHTS_BATH] * factor)
    si[r, S_BED_LATE] = int(si[r, S_BED_LATE] * factor)
    si[r, S_SEAT_LATE] = int(si[r, S_SEAT_LATE] * factor)
    si[r, S_OUT_LONGEST] = int(si[r, S_OUT_LONGEST] * factor)


@njit(**JIT)
def local_hour(t: int, offset_min: int) -> int:
    """Local hour of day 0..23 of epoch ms ``t`` at ``offset_min`` minutes east of UTC."""
    return int(((t + offset_min * MIN_MS) % DAY_MS) // HOUR_MS)


@njit(**JIT)
def local_minute(t: int, offset_min: int) -> int:
    """Local minute of day 0..1439."""
    return int(((t + offset_min * MIN_MS) % DAY_MS) // MIN_MS)


@njit(**JIT)
def _is_night(h: int, params: np.ndarray) -> bool:
    start = int(params[P_NIGHT_START_H])
    end = int(params[P_NIGHT_END_H])
    if start <= end:
        return start <= h < end
    return h >= start or h < end


@njit(**JIT)
def learned_threshold(
    hist: np.ndarray, r: int, hc: int, h: int, prior_s: float, days: float, params: np.ndarray
) -> float:
    """``margin · Q`` (s), ``Q`` the silence length this home exceeds more than ``rate`` times a day
    around hour ``h``, or −1 with fewer than ``min_count`` real samples.

    Pool rows ``h−1, h, h+1`` of histogram ``hc`` with weights ``(w, 1, w)`` and ``prior_count``
    pseudo-samples of length ``prior_s`` (s); from the longest bin down, ``Q`` is the upper edge of the
    first bin whose tail count (samples at least that long) exceeds ``rate · days`` (``days``: faded
    days of history, the same fading as the counts); ``Q = sample_min_s`` when no bin does (long
    silences are rare here at this hour).
    """
    nb = hist.shape[3]
    w = params[P_POOL_W]
    total = 0.0
    pooled = np.zeros(nb, dtype=np.float64)
    for dh in range(-1, 2):
        hh = (h + dh) % 24
        weight = 1.0 if dh == 0 else w
        for b in range(nb):
            v = weight * hist[r, hc, hh, b]
            pooled[b] += v
            total += v
    if total < params[P_MIN_COUNT]:
        return -1.0
    log_ratio = math.log(params[P_HIST_MAX_S] / params[P_SAMPLE_MIN_S]) / nb
    if prior_s > 0.0 and params[P_PRIOR_COUNT] > 0.0:
        pb = int(math.log(prior_s / params[P_SAMPLE_MIN_S]) / log_ratio)
        pb = min(max(pb, 0), nb - 1)
        pooled[pb] += params[P_PRIOR_COUNT]
    budget = params[P_RATE] * days
    acc = 0.0
    for b in range(nb - 1, -1, -1):
        acc += pooled[b]
        if acc > budget:
            return params[P_MARGIN] * params[P_SAMPLE_MIN_S] * math.exp((b + 1) * log_ratio)
    return params[P_MARGIN] * params[P_SAMPLE_MIN_S]


@njit(**JIT)
def pooled_count(hist: np.ndarray, r: int, hc: int, h: int, params: np.ndarray) -> float:
    """Faded samples of histogram ``hc`` around local hour ``h``, pooled over ``h−1, h, h+1`` with the
    weights ``(w, 1, w)`` of :func:`learned_threshold` (its ``total``, without the prior)."""
    w = params[P_POOL_W]
    total = 0.0
    for dh in range(-1, 2):
        weight = 1.0 if dh == 0 else w
        for b in range(hist.shape[3]):
            total += weight * hist[r, hc, (h + dh) % 24, b]
    return total


@njit(**JIT)
def presence_days(hist: np.ndarray, r: int, h: int, params: np.ndarray) -> float:
    """Faded days with the resident at home around local hour ``h``: the presence row pooled over
    ``h−1, h, h+1`` with the weights of :func:`learned_threshold`, divided by their sum ``1 + 2w``."""
    w = params[P_POOL_W]
    total = 0.0
    for dh in range(-1, 2):
        weight = 1.0 if dh == 0 else w
        total += weight * hist[r, PRESENCE_ROW, (h + dh) % 24, 0]
    return total / (1.0 + 2.0 * w)


@njit(**JIT)
def _ring_quantile(wake: np.ndarray, r: int, lo: int, n: int, q: float) -> float:
    """Quantile ``q`` (the ``⌈q·k⌉``-th smallest) of the ``k = min(n, K)`` values of the ring at ``lo``."""
    k = min(n, wake.shape[1] // 2)
    values = np.sort(wake[r, lo : lo + k].astype(np.float64))
    return values[max(math.ceil(q * k), 1) - 1]


@njit(**JIT)
def _ring_max(wake: np.ndarray, r: int, lo: int, n: int) -> float:
    k = min(n, wake.shape[1] // 2)
    best = -1.0
    for i in range(k):
        best = max(best, float(wake[r, lo + i]))
    return best


@njit(**JIT)
def wake_deadline_min(wake: np.ndarray, r: int, n_wake: int, params: np.ndarray) -> int:
    """Local minute after which a resident still in bed is "not up": ``Q_wake + margin``, clamped
    (the learned routine; the default before ``wake_min_samples`` wake-ups, see :func:`early_wake_min`)."""
    if n_wake < params[P_WAKE_MIN_SAMPLES] or n_wake <= 0:
        return int(params[P_WAKE_DEFAULT_MIN])
    q = _ring_quantile(wake, r, 0, n_wake, params[P_WAKE_Q])
    m = q + params[P_WAKE_MARGIN_MIN]
    m = max(params[P_WAKE_FLOOR_MIN], min(params[P_WAKE_CEIL_MIN], m))
    return int(m)


@njit(**JIT)
def early_wake_min(si: np.ndarray, wake: np.ndarray, r: int, params: np.ndarray) -> tuple[int, int]:
    """``(minute, basis)``: the "not up" minute before the wake-ups are learned, from what is known.

    The population prior ``wake_default_min`` (``B_FIXED``); the archive's usual wake-up + margin +
    ``wake_unsure_min`` instead when recorded (``B_ENROLLED``: it may well be earlier); and never before the latest of
    the few wake-ups seen so far + margin + ``wake_unsure_min`` (``B_OBSERVED`` when that decides).
    Clamped to [``wake_floor_min``, ``wake_ceil_min``]."""
    m = params[P_WAKE_DEFAULT_MIN]
    basis = B_FIXED
    if si[r, S_ENROLL_WAKE] >= 0:
        m = si[r, S_ENROLL_WAKE] + params[P_WAKE_MARGIN_MIN] + params[P_WAKE_UNSURE_MIN]
        basis = B_ENROLLED
    if si[r, S_NWAKE] > 0:
        seen = _ring_max(wake, r, 0, si[r, S_NWAKE]) + params[P_WAKE_MARGIN_MIN] + params[P_WAKE_UNSURE_MIN]
        if seen > m:
            m = seen
            basis = B_OBSERVED
    m = max(params[P_WAKE_FLOOR_MIN], min(params[P_WAKE_CEIL_MIN], m))
    return int(m), basis


@njit(**JIT)
def _bed_bound_min(
    si: np.ndarray, wake: np.ndarray, r: int, q: float, late: bool, params: np.ndarray
) -> tuple[int, int]:
    """``(minutes after local noon, basis)``: the ``q`` quantile of the recent bed times once
    ``wake_min_samples`` are known (``B_LEARNED``), else the population prior ``bed_default_min`` or the
    archive's bed time (``B_ENROLLED``), pushed out to the latest (``late``) or earliest bed time seen so
    far ± ``wake_unsure_min`` (``B_OBSERVED``); then ``bed_margin_min`` further the same way."""
    n = si[r, S_NBED]
    lo = wake.shape[1] // 2
    sign = 1.0 if late else -1.0
    if n >= params[P_WAKE_MIN_SAMPLES] and n > 0:
        return int(_ring_quantile(wake, r, lo, n, q) + sign * params[P_BED_MARGIN_MIN]), B_LEARNED
    v = float((int(params[P_BED_DEFAULT_MIN]) - 720) % 1440)
    basis = B_FIXED
    if si[r, S_ENROLL_BED] >= 0:
        v = float((si[r, S_ENROLL_BED] - 720) % 1440)
        basis = B_ENROLLED
    if n > 0:
        seen = _ring_quantile(wake, r, lo, n, 1.0 if late else 0.0) + sign * params[P_WAKE_UNSURE_MIN]
        if sign * (seen - v) > 0.0:
            v = seen
            basis = B_OBSERVED
    return int(v + sign * params[P_BED_MARGIN_MIN]), basis


@njit(**JIT)
def bed_line_min(si: np.ndarray, wake: np.ndarray, r: int, params: np.ndarray) -> tuple[int, int]:
    """``(minutes after local noon, basis)`` by which the resident is usually in the bedroom: the
    ``bed_q`` quantile of the recent bed times, never before the latest seen + ``wake_unsure_min``
    until they are learned; plus ``bed_margin_min`` (:func:`_bed_bound_min`)."""
    return _bed_bound_min(si, wake, r, params[P_BED_Q], True, params)


@njit(**JIT)
def bed_edge_min(si: np.ndarray, wake: np.ndarray, r: int, params: np.ndarray) -> int:
    """Minutes after local noon from which a silence may be the night's sleep (:func:`traceless`,
    :func:`_early_night`): the ``1 − bed_q`` quantile of the recent bed times, never after the earliest
    seen − ``wake_unsure_min`` until they are learned; minus ``bed_margin_min`` (the mirror of
    :func:`bed_line_min`)."""
    return _bed_bound_min(si, wake, r, 1.0 - params[P_BED_Q], False, params)[0]


@njit(**JIT)
def _past_bed_line(si: np.ndarray, wake: np.ndarray, r: int, t: int, params: np.ndarray) -> bool:
    """Whether ``t`` is past the time this resident is usually in the bedroom (:func:`bed_line_min`)."""
    m = (local_minute(t, si[r, S_OFFSET]) - 720) % 1440
    return m >= bed_line_min(si, wake, r, params)[0]


@njit(**JIT)
def _past_bed_edge(si: np.ndarray, wake: np.ndarray, r: int, t: int, params: np.ndarray) -> bool:
    """Whether ``t`` is past the early edge of this resident's bed times (:func:`bed_edge_min`)."""
    return (local_minute(t, si[r, S_OFFSET]) - 720) % 1440 >= bed_edge_min(si, wake, r, params)


@njit(**JIT)
def traceless(si: np.ndarray, r: int, params: np.ndarray) -> bool:
    """Whether this home's nights lately began with no trace of going to bed: more nights (faded by
    ``decay``) whose rest began outside the bedroom and off the bed pad than in them. No bedroom sensor
    at all (privacy), or a bedroom door left open: the night starts wherever the last activity was."""
    return params[P_UNTRACED_NIGHTS] != 0.0 and si[r, S_NIGHTS_UNTRACED] > si[r, S_NIGHTS_TRACED]


@njit(**JIT)
def _early_night(si: np.ndarray, wake: np.ndarray, r: int, t: int, room: int, params: np.ndarray) -> bool:
    """Whether ``t`` is in the night of an early sleeper though before ``night_start_h``: a bed time of
    this home is known (one night will do: until ``wake_min_samples`` the edge is the earliest seen −
    ``wake_unsure_min`` − ``bed_margin_min``, :func:`bed_edge_min`) and ``t`` is past the early edge of
    its bed times, from ``bed_floor_min``. A resident in bed at 19:30 is asleep, not in the bedroom by day with its
    daytime ceiling (an alert six hours into every night). Before any bed time is known (the first
    evenings), only the bed pad occupied, or activity in the bedroom (``room``), from ``bed_floor_min``
    (17:00) is: lying down at 19:10, or an early sleeper's at 18:00, is no nap due four hours later, in
    the night, nor an early sleeper's first evening in the bedroom a silence there due at 23:00 (from
    ``evening_start_h`` before: residents three hours earlier than drawn, tuning seeds 0–6, had 15 more
    false alerts, most on their first evenings)."""
    if params[P_EARLY_NIGHTS] == 0.0:
        return False
    m = (local_minute(t, si[r, S_OFFSET]) - 720) % 1440  # minutes after local noon
    night_m = int(params[P_NIGHT_START_H]) * 60 - 720
    if si[r, S_NBED] <= 0:  # no bed time yet: in bed (the pad) or the bedroom in the evening hours
        in_bed = si[r, S_BED] == PAD_ON or room == ROOM_BED
        return in_bed and int(params[P_BED_FLOOR_MIN]) - 720 <= m < night_m  # (the bedroom from 17:00)
    return int(params[P_BED_FLOOR_MIN]) - 720 <= m < night_m and m >= bed_edge_min(si, wake, r, params)


@njit(**JIT)
def _to_bed_unseen(
    si: np.ndarray, wake: np.ndarray, r: int, t: int, bath: bool, toilet: bool, params: np.ndarray
) -> bool:
    """Whether a night-time silence outside the bedroom is the night's sleep by the clock: the home's
    nights leave no trace (:func:`traceless`), or, for a silence right after the bathroom (``bath``:
    the toilet before bed), at least ``untraced_bath_share`` of them do (a bedroom door left open on
    some nights: the toilet is then the last trace of going to bed); and ``t`` is past the early edge
    of its bed times (:func:`bed_edge_min`). Earlier in the evening it is an evening silence (due by
    the usual bed time, at most ``evening_max_s``), and so is one not right after the toilet
    (``toilet``) in a home whose untraced nights nearly all began there (``bed_bath_share``), unless
    tonight's rest has lasted ``trip_rest_s`` (a trip from bed)."""
    if params[P_UNTRACED_NIGHTS] == 0.0:
        return False
    untraced, traced = si[r, S_NIGHTS_UNTRACED], si[r, S_NIGHTS_TRACED]
    share = params[P_UNTRACED_BATH_SHARE]
    some = bath and share > 0.0 and untraced > 0 and untraced >= share * (untraced + traced)
    if not (some or untraced > traced):
        return False
    toilet_first = params[P_BED_BATH_SHARE]
    if (
        not toilet
        and (si[r, S_REST_FIRST] < 0 or t - si[r, S_REST_FIRST] < params[P_TRIP_REST_S] * 1000.0)
        and toilet_first > 0.0
        and untraced >= BED_BATH_MIN_NIGHTS * EXPO_SCALE
        and si[r, S_NIGHTS_BATH] >= toilet_first * untraced
    ):
        return False
    return _past_bed_edge(si, wake, r, t, params)


@njit(**JIT)
def _is_evening(h: int, params: np.ndarray) -> bool:
    """Local hour in [``evening_start_h``, 24) or [0, ``night_end_h``)."""
    return h >= int(params[P_EVENING_START_H]) or h < int(params[P_NIGHT_END_H])


@njit(**JIT)
def bath_blind(si: np.ndarray, r: int, params: np.ndarray) -> bool:
    """Whether this home's bathroom motion sensor is no sign of someone still in there: exits from the
    bathroom that no sensor saw (a daytime silence begun with motion there lasting ≥ ``bath_unseen_s``,
    ended by activity elsewhere) number ≥ ``bath_blind_n`` (faded by ``decay`` per day). Then silences after bathroom
    motion are judged by the active limits, not BATHROOM_LONG's ``bath_limit_s``: with motion
    sensors only over the cooker and in the shower room (Ordóñez et al.'s homes), leaving the
    bathroom for the living room leaves no trace, and an hour there alerted as a bathroom stay."""
    n = params[P_BATH_BLIND_N]
    return n > 0.0 and si[r, S_BATH_UNSEEN] / EXPO_SCALE >= n


@njit(**JIT)
def back_soon_limit_s(si: np.ndarray, r: int, seasoned: bool, params: np.ndarray) -> float:
    """Seconds a silence since a passage through the entrance door soon after going out (within
    ``away_min_s``: back in, or out again after turning back for the keys) may last: ``margin ×`` the
    longest outing this home has shown lately (``S_OUT_LONGEST``, faded), at least ``arrival_limit_s``
    (had they come in, that of a silence after coming in) and, in the first days (before ``learn_days``:
    not ``seasoned``) or before any outing was seen, at least the population's ``back_soon_prior_s``; at most
    ``back_soon_ceil_s``. Out again, they will be back by then; back in and collapsed in the hall where
    no sensor sees, they are found."""
    limit = max(params[P_ARRIVAL_LIMIT_S], params[P_MARGIN] * si[r, S_OUT_LONGEST] / 1000.0)
    if si[r, S_OUT_LONGEST] <= 0 or not seasoned:  # how long this resident stays out is not known yet
        limit = max(limit, params[P_BACK_SOON_PRIOR_S])
    return min(limit, params[P_BACK_SOON_CEIL_S])


@njit(**JIT)
def _stale_released(si: np.ndarray, r: int, t: int, since_col: int, late_col: int) -> None:
    """A stale pad lets go at ``t``: counted late (``late_col``, faded by ``decay`` per day) when that is
    ``PAD_LATE_MS`` or more after the resident was seen elsewhere (``since_col``). Such a pad holds
    "occupied" long after its sitter left (sticky, set too sensitive, something left on it): the home
    detector names it for whoever maintains the home's sensors (:mod:`stream.pads`)."""
    since = si[r, since_col]
    if since >= 0 and t - since >= PAD_LATE_MS:
        si[r, late_col] += int(EXPO_SCALE)
    si[r, since_col] = -1


@njit(**JIT)
def trips_watched(si: np.ndarray, r: int, params: np.ndarray) -> bool:
    """Whether this home's night trips that no bed pad armed raise NIGHT_ABSENCE: at least
    ``trip_watch_n`` of them (faded by ``decay`` per day) came back to the bedroom before the timer ran
    out, and at most ``trip_watch_share`` of them did not. Where returns to bed are seen (a bedroom door
    contact, a bedroom PIR) a trip that does not come back is unusual; where they are not (a bedroom door
    left open, a sleepless hour in an unsensed armchair) the timers run out and the home is not watched."""
    n = params[P_TRIP_WATCH_N]
    back = si[r, S_TRIPS_BACK] / EXPO_SCALE
    out = si[r, S_TRIPS_OUT] / EXPO_SCALE
    return n > 0.0 and back >= n and out <= params[P_TRIP_WATCH_SHARE] * (back + out)


@njit(**JIT)
def _leaves_rest(
    si: np.ndarray, wake: np.ndarray, r: int, t: int, c: int, room: int, pir: int, params: np.ndarray
) -> bool:
    """Whether activity ``c`` at ``t`` leaves tonight's rest on a trip that no bed pad announced (no
    pad in the home, or one that did not let go: sticky): in the night's rest, every activity for
    ``trip_rest_s`` at least in the bedroom, and now activity out of it or its door (a contact in the
    bedroom: its motion sensor is a turn in bed). A report just after coming back (a door swinging
    shut behind the resident, a sensor reporting late) is the trip's end, not another one."""
    if c != EV_ACTIVITY or si[r, S_ABS_OUT] != 0 or si[r, S_BED] == PAD_ON or params[P_TRIP_WATCH_N] <= 0.0:
        return False
    if si[r, S_CTX] != CTX_REST or si[r, S_NIGHT] != 1 or si[r, S_REST_SINCE] < 0:
        return False
    since = si[r, S_BEDROOM_SINCE]
    if since < 0 or t - since < params[P_TRIP_REST_S] * 1000.0 or not _up_at_night(si, wake, r, t, params):
        return False
    return room != ROOM_BED or pir == 0


@njit(**JIT)
def _trip_from_bed(si: np.ndarray, r: int, t: int, room: int, params: np.ndarray) -> bool:
    """Whether activity at ``t`` in ``room``, at night after tonight's rest began, is a trip from bed
    (more sleep follows): always in the bathroom (the toilet, before bed or from bed); elsewhere only
    once the rest has lasted ``trip_rest_s`` (asleep, not a moment in the bedroom to change before an
    evening in the living room)."""
    since = si[r, S_REST_SINCE]
    return room == ROOM_BATH or since < 0 or t - since >= params[P_TRIP_REST_S] * 1000.0


@njit(**JIT)
def _up_at_night(si: np.ndarray, wake: np.ndarray, r: int, t: int, params: np.ndarray) -> bool:
    """Whether being out of bed at ``t`` is "at night": in the night hours and before the early edge
    of the usual wake-up (learned: wake deadline − margin − 60 min; else the end of the night, or the
    archive's usual wake-up − ``wake_unsure_min`` when earlier: an early riser told at 03:00 is up
    for the day at 05:00)."""
    off = si[r, S_OFFSET]
    h = local_hour(t, off)
    if not _is_night(h, params):
        return False
    early = int(params[P_NIGHT_END_H]) * 60
    if si[r, S_NWAKE] >= params[P_WAKE_MIN_SAMPLES]:
        early = _wake_edge_min(wake_deadline_min(wake, r, si[r, S_NWAKE], params), params)
    elif si[r, S_ENROLL_WAKE] >= 0:
        early = min(early, int(si[r, S_ENROLL_WAKE] - params[P_WAKE_UNSURE_MIN]))
    return h >= int(params[P_NIGHT_START_H]) or local_minute(t, off) < early


@njit(**JIT)
def _absence_from(si: np.ndarray, r: int, t: int, limit_s: float) -> None:
    """The night-absence timer runs from activity at ``t``: due ``limit_s`` later."""
    si[r, S_ABS_START] = t
    si[r, S_ABS_DEADLINE] = t + int(limit_s * 1000.0)


@njit(**JIT)
def _moving_again(
    si: np.ndarray,
    r: int,
    t: int,
    where: int,
    monitored: np.ndarray,
    out_i: np.ndarray,
    out_f: np.ndarray,
    n: int,
) -> int:
    """The resident's first activity at ``t`` (in room ``where``) after an alert: the silence that
    alerted (``S_FIRED`` 1) ends now, and so does a night absence whose alert went out (its start in
    ``S_ABS_RAN_OUT``). One ``K_MOVING`` row each, naming the alert by its kind and start (the key the
    alert was raised with), so whoever took the alert hears that the resident moves again: someone who
    can still move, or a responder coming in. It clears nothing: a fallen resident may crawl."""
    if si[r, S_FIRED] == 1:
        start = si[r, S_LAST]
        n = _emit(out_i, out_f, n, r, K_MOVING, start, t, si[r, S_DKIND], (t - start) / 1000.0, where)
    start = si[r, S_ABS_RAN_OUT]
    if start >= 0 and monitored[r] == 1:
        n = _emit(out_i, out_f, n, r, K_MOVING, start, t, K_NIGHT_ABSENCE, (t - start) / 1000.0, where)
    return n


@njit(**JIT)
def _seen_after_absence(si: np.ndarray, r: int, t: int, c: int, params: np.ndarray) -> None:
    """The first activity ``c`` at ``t`` after a night-absence alert: the resident moving again within
    ``absence_up_s`` of the silence's start (not the entrance door: a responder coming in) was sitting
    up unseen, a false alert the sleepless allowance would have spared, and is counted
    (``S_ABS_RUNOUTS``)."""
    start = si[r, S_ABS_RAN_OUT]
    if start < 0:
        return
    if c != EV_DOOR and t - start <= params[P_ABSENCE_UP_S] * 1000.0:
        si[r, S_ABS_RUNOUTS] += int(EXPO_SCALE)
    si[r, S_ABS_RAN_OUT] = -1


@njit(**JIT)
def _just_in(si: np.ndarray, r: int, t: int, params: np.ndarray) -> bool:
    """Whether ``t`` is within ``arrival_window_s`` of the resident coming in at the entrance door."""
    return si[r, S_ARRIVED] >= 0 and t - si[r, S_ARRIVED] <= params[P_ARRIVAL_WINDOW_S] * 1000.0


@njit(**JIT)
def _trip_limit(si: np.ndarray, r: int, params: np.ndarray) -> float:
    """The night-absence limit of a trip (s): ``absence_s``, or ``absence_up_s`` in a home where
    ``abs_runout_n`` night absences (faded) were lately followed by the resident moving again within
    ``absence_up_s`` (:func:`_seen_after_absence`): someone who sits up where no sensor sees."""
    n = params[P_ABS_RUNOUT_N]
    if n > 0.0 and si[r, S_ABS_RUNOUTS] >= n * EXPO_SCALE:
        return max(params[P_ABSENCE_S], params[P_ABSENCE_UP_S])
    return params[P_ABSENCE_S]


@njit(**JIT)
def _night_absence(
    si: np.ndarray, wake: np.ndarray, r: int, t: int, c: int, value: int, room: int, params: np.ndarray
) -> None:
    """The night-absence timer at activity ``c`` (not the bed pad) at ``t`` after the bed pad let go at
    night (``S_ABS_OUT`` ≠ 0).

    What the sensors can tell: a pad that reads "free" with nothing else seen, or with motion only in
    the bed's room, may be a sleeper lying still at its edge (pads drop out for minutes to hours) or
    someone getting up or back to bed: nothing shows they are out of bed, and a resident who stays
    there is "not up" by the morning (NOT_UP). So the timer runs only from activity out of the bed's
    room (a bed pad in a room not named bedroom: any activity), and activity back in the bed's room
    stops it (back to bed; the pad may not say so). Out and about, each activity restarts it:
    ``absence_s`` for a trip (the toilet: a fall on the way is found ``absence_s`` after the last
    activity), ``absence_up_s`` once the resident has been up ``absence_trip_s`` since first seen out
    (a sleepless spell: reading, TV, a doze in the living room, like an evening). Sitting down on a
    seat pad stops it (a seated silence), and so does activity while the seat pad is occupied;
    getting up from it restarts it. A seat pad that never let go when the resident left it (stale:
    sticky) cannot show them sitting down on it again, so activity in its room restarts the timer
    with ``absence_up_s``, as a sleepless spell in the armchair. A passage out through the entrance
    door stops it too (away, as by day: an early riser's walk at 05:00), and coming back in restarts
    it. Past the night (:func:`_up_at_night`) it ends: up for the day."""
    if not _up_at_night(si, wake, r, t, params):  # up for the day
        si[r, S_ABS_OUT] = 0
        si[r, S_ABS_DEADLINE] = NEVER
        si[r, S_TRIP] = 0
        return
    if c == EV_SEAT and value == 1:  # sat down: a seated silence now
        si[r, S_ABS_DEADLINE] = NEVER
        return
    if c == EV_DOOR and si[r, S_DOOR_IN] != DOOR_IN:  # out through the entrance door: away, as by day
        si[r, S_ABS_DEADLINE] = NEVER
        return
    if c != EV_SEAT and si[r, S_SEAT] == PAD_ON:  # someone on the seat, moving
        si[r, S_ABS_DEADLINE] = NEVER
        return
    if c != EV_DOOR and c != EV_SEAT and room == ROOM_BED and (si[r, S_BED_ROOM] == ROOM_BED or si[r, S_TRIP] != 0):
        if si[r, S_TRIP] == 3:  # still at the bedroom door: the timer runs from its last report
            _absence_from(si, r, t, _trip_limit(si, r, params))
            return
        si[r, S_ABS_DEADLINE] = NEVER  # in the bed's room: getting up, or back to bed
        if si[r, S_TRIP] != 0:  # back from a trip no pad armed: the next one arms afresh
            if si[r, S_TRIP] == 1:
                si[r, S_TRIPS_BACK] += int(EXPO_SCALE)
            si[r, S_TRIP] = 0
            si[r, S_ABS_OUT] = 0
        return
    if si[r, S_TRIP] == 3:  # through the bedroom door and out
        si[r, S_TRIP] = 1
    if si[r, S_ABS_OUT] == 1:  # first seen out of the bed's room tonight
        si[r, S_ABS_OUT] = 2
        si[r, S_ABS_UP] = t
    limit = _trip_limit(si, r, params)
    if t - si[r, S_ABS_UP] >= params[P_ABSENCE_TRIP_S] * 1000.0:
        limit = max(limit, params[P_ABSENCE_UP_S])
    if si[r, S_SEAT] == PAD_STALE and room == si[r, S_SEAT_ROOM]:  # back in the armchair would not show
        limit = max(limit, params[P_ABSENCE_UP_S])
    _absence_from(si, r, t, limit)


@njit(**JIT)
def _before_wake(si: np.ndarray, wake: np.ndarray, r: int, t: int, params: np.ndarray) -> bool:
    """Whether ``t`` is past the night hours but still before the early edge of this home's usual
    wake-up (the edge of :func:`_up_at_night`: wake deadline − margin − 60 min, i.e. the ``wake_q``
    quantile of the learned wake-ups − 60 min, before noon). For a resident who wakes at 07:30,
    06:20 is still the night: back in bed from the toilet then, they are resting, not up for the day.
    Until the wake-ups are learned, only while tonight's rest goes on (``S_REST_SINCE``), and before
    the early edge of the "not up" minute known so far (where a rest would be a nap, :func:`_nap`): a
    late sleeper back in the bedroom from the toilet at 06:15 on the first mornings is still asleep,
    not in the bedroom by day with the first days' prior (an alert at 09:15)."""
    off = si[r, S_OFFSET]
    if _is_night(local_hour(t, off), params):
        return False
    if si[r, S_NWAKE] < params[P_WAKE_MIN_SAMPLES]:
        return si[r, S_REST_SINCE] >= 0 and not _nap(si, wake, r, t, params)
    return local_minute(t, off) < _wake_edge_min(wake_deadline_min(wake, r, si[r, S_NWAKE], params), params)


@njit(**JIT)
def _wake_edge_min(not_up_min: int, params: np.ndarray) -> int:
    """The early edge of the usual wake-up (minutes after local midnight, noon at the latest) from its
    "not up" minute: that minute − margin − 60 min."""
    return min(not_up_min - int(params[P_WAKE_MARGIN_MIN]) - 60, 720)


@njit(**JIT)
def _nap(si: np.ndarray, wake: np.ndarray, r: int, t: int, params: np.ndarray) -> bool:
    """Whether a resting silence by day that starts at ``t``, before the wake-ups are learned, is a nap
    (judged by the first days' prior, :func:`early_deadline`): it starts after the early edge of the
    "not up" minute known so far (:func:`early_wake_min` − margin − 60 min, noon at the latest). Back
    in bed at 06:20 on the second night, a late sleeper is still asleep (issue #14: no alert at
    10:20 after a night's sleep); lying down at 14:00 is a nap, not ten hours of rest."""
    wake_min, _ = early_wake_min(si, wake, r, params)
    return local_minute(t, si[r, S_OFFSET]) >= _wake_edge_min(wake_min, params)


@njit(**JIT)
def _add_sample(hist: np.ndarray, r: int, hc: int, h: int, length_s: float, params: np.ndarray) -> None:
    nb = hist.shape[3]
    log_ratio = math.log(params[P_HIST_MAX_S] / params[P_SAMPLE_MIN_S]) / nb
    b = int(math.log(length_s / params[P_SAMPLE_MIN_S]) / log_ratio)
    b = min(max(b, 0), nb - 1)
    hist[r, hc, h, b] += 1.0


@njit(**JIT)
def _add_span(hist: np.ndarray, r: int, hc: int, start: int, end: int, off: int, params: np.ndarray) -> None:
    """Learn the completed silence ``[start, end)`` (epoch ms) by the local hours it spans: for each
    hour ``H`` it overlaps, the silence elapsed at the end of its part of ``H`` (``min(end, end of H) −
    start``), when that is ≥ ``sample_min_s``. A silence from 10:40 to 12:00 thus counts as 20 min
    reached in hour 10 and 80 min reached in hour 11: the histogram of hour ``H`` holds how long
    the home has been silent *while the clock is in* ``H``, whatever hour the silence began in."""
    smin = params[P_SAMPLE_MIN_S] * 1000.0
    shift = off * MIN_MS
    hour_end = ((start + shift) // HOUR_MS + 1) * HOUR_MS - shift
    for _ in range(int(params[P_HIST_MAX_S] / 3600.0) + 2):
        seg_end = min(end, hour_end)
        elapsed = seg_end - start
        if elapsed >= smin:
            _add_sample(hist, r, hc, local_hour(seg_end - 1, off), elapsed / 1000.0, params)
        if end <= hour_end:
            break
        hour_end += HOUR_MS


@njit(**JIT)
def _add_presence(hist: np.ndarray, r: int, start: int, end: int, off: int) -> None:
    """Add the time of ``[start, end)`` (epoch ms) at home to the presence row, in hours per local hour
    (a silence longer than two days counts its first 48 hours)."""
    shift = off * MIN_MS
    t = start
    for _ in range(48):
        if t >= end:
            break
        hour_end = ((t + shift) // HOUR_MS + 1) * HOUR_MS - shift
        seg_end = min(end, hour_end)
        hist[r, PRESENCE_ROW, local_hour(t, off), 0] += (seg_end - t) / HOUR_MS
        t = seg_end


@njit(**JIT)
def span_deadline(
    hist: np.ndarray,
    r: int,
    hc: int,
    t0: int,
    off: int,
    prior_s: float,
    floor_s: float,
    ceil_s: float,
    days: float,
    params: np.ndarray,
) -> int:
    """Deadline (epoch ms) of a silence that started at ``t0``: the first moment ``τ`` ≥ ``t0 + floor``
    at which the elapsed silence ``τ − t0`` exceeds the learned limit of ``τ``'s local hour
    (:func:`learned_threshold` of that hour, over the elapsed-by-hour histograms of
    :func:`_add_span`), at the latest ``t0 + ceil``; −1 if an hour has too few samples.

    The limit is thus re-evaluated at each hour boundary the silence crosses, all computed once at
    its start (no look-ahead: only the history so far): a silence that starts in a quiet hour but
    runs into hours where this home is rarely that quiet alerts there, and one that starts in a busy
    hour but runs into the after-lunch nap keeps going. Within an hour ``H`` the alert is at
    ``t0 + margin · Q_H`` if that falls in ``H``, so the deadline is exact, not stepped. In an hour
    where the resident has been at home on fewer than ``min_presence · days`` (faded) days
    (:func:`presence_days`) the limit is at least ``margin · floor``: a home that is usually empty
    then has shown nothing about quiet spells at that hour, so its tiny per-day rate of long
    silences is no evidence that they are unusual."""
    shift = off * MIN_MS
    end = t0 + int(ceil_s * 1000.0)
    tau = t0 + int(floor_s * 1000.0)
    while tau < end:
        h = local_hour(tau, off)
        lim = learned_threshold(hist, r, hc, h, prior_s, days, params)
        if lim < 0.0:
            return -1
        if hc != 0 and pooled_count(hist, r, hc, h, params) < params[P_THIN_FACTOR] * params[P_RATE] * days:
            # too few silences of this context around h to show what is unusual: no shorter than active
            active = learned_threshold(hist, r, 0, h, prior_s, days, params)
            if active < 0.0:
                return -1
            lim = max(lim, active)
        if presence_days(hist, r, h, params) < params[P_MIN_PRESENCE] * days:  # too little evidence here
            lim = max(lim, params[P_MARGIN] * floor_s)
        hour_end = ((tau + shift) // HOUR_MS + 1) * HOUR_MS - shift
        cand = max(tau, t0 + int(lim * 1000.0))
        if cand < hour_end:
            return min(cand, end)
        tau = hour_end
    return end


@njit(**JIT)
def daytime_hours_home(hist: np.ndarray, r: int, params: np.ndarray) -> float:
    """Faded hours the resident has spent at home in the daytime hours (``night_end_h`` to
    ``evening_start_h``; the presence row)."""
    total = 0.0
    for h in range(24):
        if not _is_evening(h, params):
            total += hist[r, PRESENCE_ROW, h, 0]
    return total


@njit(**JIT)
def longest_daytime(hist: np.ndarray, r: int, hc: int, params: np.ndarray) -> float:
    """``margin ·`` the longest silence of context ``hc`` this home has shown in any daytime hour
    (``night_end_h`` to ``evening_start_h``; the upper edge of the highest non-empty bin), or
    ``margin · sample_min_s`` when it has shown none."""
    longest = params[P_MARGIN] * params[P_SAMPLE_MIN_S]
    for h in range(24):
        if not _is_evening(h, params):
            longest = max(longest, learned_threshold(hist, r, hc, h, 0.0, 0.0, params))
    return longest


@njit(**JIT)
def early_deadline(
    hist: np.ndarray,
    r: int,
    hc: int,
    t0: int,
    off: int,
    day_prior_s: float,
    prior_s: float,
    ceil_s: float,
    params: np.ndarray,
) -> tuple[int, int]:
    """``(deadline, basis)`` of a daytime silence that started at ``t0`` before the home's routine is
    learned: the first moment ``τ`` at which the elapsed silence exceeds ``max(P, margin · L_H)``,
    ``L_H`` the longest silence of context ``hc`` this home has shown so far while the clock was in the
    hours ``H−1..H+1`` of ``τ`` (:func:`learned_threshold` with no days of budget and no prior: the
    upper edge of the highest non-empty pooled bin; a few days hold too few silences for a tail
    quantile), ``P`` the prior: ``day_prior_s`` (≤ ``prior_s``: what this home's daytime showed,
    :func:`longest_daytime`) while ``τ`` is in the daytime hours (``night_end_h`` to
    ``evening_start_h``), ``prior_s`` after; at the latest ``t0 + ceil_s``. ``basis`` is
    ``B_OBSERVED`` when the home's own silences set it (``margin · L_H > P``, in ``τ``'s hour or in
    the earlier hours that carried ``τ`` past ``t0 + P``, or ``P = day_prior_s < prior_s``) and
    ``B_FIXED`` when the population prior did.

    A home's first days thus start from what people in general do (a daytime quiet spell of
    ``prior_s``, well below the fixed limit a learned routine would replace) and widen hour by hour
    as the home shows longer ones (a long afternoon nap on day 2 lets day 3's afternoon wait longer)."""
    shift = off * MIN_MS
    end = t0 + int(ceil_s * 1000.0)
    day_prior_s = min(day_prior_s, prior_s)
    tau = t0 + int(day_prior_s * 1000.0)
    while tau < end:
        h = local_hour(tau, off)
        base = prior_s if _is_evening(h, params) else day_prior_s
        at_base = t0 + int(base * 1000.0)
        # past the base: carried there by earlier hours' silences; below the prior: this home's day
        basis = B_OBSERVED if tau > at_base or base < prior_s else B_FIXED
        # no days of budget and no prior: margin × the upper edge of the highest non-empty pooled bin
        seen = learned_threshold(hist, r, hc, h, 0.0, 0.0, params)
        lim = base
        if seen > base:
            lim = seen
            basis = B_OBSERVED
        hour_end = ((tau + shift) // HOUR_MS + 1) * HOUR_MS - shift
        cand = max(tau, t0 + int(lim * 1000.0))
        if cand < hour_end:
            return min(cand, end), basis
        tau = hour_end
    return end, B_OBSERVED


@njit(**JIT)
def _start_silence(
    si: np.ndarray,
    hist: np.ndarray,
    wake: np.ndarray,
    r: int,
    t: int,
    ctx: int,
    bath: bool,
    morning: bool,
    params: np.ndarray,
) -> None:
    """Start the silence of context ``ctx`` at ``t``; ``bath``: its last activity was in the bathroom
    (with ``evening_bath`` 0 the bathroom before bed is taken for a trace of going to bed, so that is no
    "evening" silence; with 1, only the bedroom is: a stop after the toilet is no night's sleep);
    ``morning``: tonight's rest runs on past the night hours (:func:`_before_wake`), so a resting
    silence is judged as the night's (NOT_UP at the usual wake-up)."""
    off = si[r, S_OFFSET]
    h = local_hour(t, off)
    si[r, S_LAST] = t
    si[r, S_CTX] = ctx
    si[r, S_FIRED] = 0
    si[r, S_LEARNED] = 0
    si[r, S_NIGHT] = 0
    kind = K_INACTIVITY
    seasoned = si[r, S_FIRST] >= 0 and t - si[r, S_FIRST] >= params[P_LEARN_S] * 1000.0
    if ctx == CTX_AWAY:
        limit = params[P_AWAY_LIMIT_S]
        if si[r, S_DOOR_IN] == DOOR_UNSURE and params[P_BACK_SOON_CEIL_S] > 0.0:
            limit = back_soon_limit_s(si, r, seasoned, params)
            si[r, S_LEARNED] = B_FIXED | W_BACK_SOON
        if limit <= 0.0:
            si[r, S_DEADLINE] = NEVER
            si[r, S_THR] = 0
            si[r, S_DKIND] = kind
            return
        deadline = t + int(limit * 1000.0)
    elif ctx == CTX_BATH:
        kind = K_BATHROOM
        limit = params[P_BATH_LIMIT_S]
        deadline = t + int(limit * 1000.0)
    elif ctx == CTX_REST and (_is_night(h, params) or morning):
        kind = K_NOT_UP
        si[r, S_NIGHT] = 1
        if si[r, S_NWAKE] >= params[P_WAKE_MIN_SAMPLES]:
            wake_min = wake_deadline_min(wake, r, si[r, S_NWAKE], params)
            si[r, S_LEARNED] = B_LEARNED
        else:
            wake_min, basis = early_wake_min(si, wake, r, params)
            si[r, S_LEARNED] = basis
        local_t = t + off * MIN_MS
        wake_local = (local_t // DAY_MS) * DAY_MS + wake_min * MIN_MS
        if wake_local <= local_t:
            wake_local += DAY_MS
        deadline = wake_local - off * MIN_MS
        if si[r, S_LEARNED] == B_FIXED and si[r, S_REST_SINCE] >= 0:  # nothing known: a long night first
            deadline = max(deadline, si[r, S_REST_SINCE] + int(params[P_PRIOR_SLEEP_S] * 1000.0))
        if si[r, S_REST_SINCE] >= 0 and si[r, S_REST_TRACED] == 0:  # the alert says so
            si[r, S_LEARNED] |= W_UNTRACED
        deadline = max(deadline, t + int(params[P_REST_MIN_S] * 1000.0))
        deadline = min(deadline, t + int(params[P_REST_CEIL_S] * 1000.0))
        limit = (deadline - t) / 1000.0
    else:
        if ctx == CTX_REST:
            fixed, floor, ceil = params[P_REST_FIXED_S], params[P_REST_FLOOR_S], params[P_REST_CEIL_S]
        elif ctx == CTX_SEATED:
            fixed, floor, ceil = params[P_SEAT_FIXED_S], params[P_SEAT_FLOOR_S], params[P_SEAT_CEIL_S]
        else:
            fixed, floor, ceil = params[P_ACTIVE_FIXED_S], params[P_ACTIVE_FLOOR_S], params[P_ACTIVE_CEIL_S]
        # the home has shown that going to bed leaves a trace: an evening silence that starts elsewhere
        # is judged by its own context, not as a night's sleep (the toilet before bed is followed by the
        # bedroom: a silence that starts right after it never reached the bedroom)
        outside_bedroom = (
            ctx != CTX_REST and ctx != CTX_BEDROOM and (not bath or params[P_EVENING_BATH] != 0.0) and si[r, S_NBED] > 0
        )
        evening = outside_bedroom and _is_evening(h, params)
        night_like = ctx != CTX_REST and _is_night(h, params) and not evening
        if night_like:  # a night-time silence may well be sleep
            fixed, floor, ceil = params[P_REST_FIXED_S], params[P_NIGHT_FLOOR_S], params[P_REST_CEIL_S]
        if evening:  # quiet evenings (TV, a doze in the chair) are longer than daytime silences, and
            # up later than usual (back from an evening out, a sleepless night) longer still
            line, _ = bed_line_min(si, wake, r, params)
            late = (local_minute(t, off) - 720) % 1440 >= line
            floor = min(max(floor, params[P_LATE_FLOOR_S] if late else params[P_EVENING_FLOOR_S]), ceil)
            if bath and params[P_EVENING_MAX_S] > 0.0:  # right after the toilet: no night's sleep, but
                # perhaps to bed without a bedroom trace (a door left open): the whole evening allowance
                floor = min(max(floor, params[P_EVENING_MAX_S]), ceil)
        limit = fixed
        deadline = t + int(limit * 1000.0)
        if seasoned:
            due = span_deadline(
                hist, r, hist_index(ctx), t, off, fixed, floor, ceil, si[r, S_EXPO] / EXPO_SCALE, params
            )
            if due > 0:
                deadline = due
                limit = (due - t) / 1000.0
                si[r, S_LEARNED] = B_LEARNED
        elif (
            not night_like
            and 0.0 < params[P_EARLY_PRIOR_S] < fixed
            and (ctx != CTX_REST or _nap(si, wake, r, t, params))
        ):
            # the first days: the population prior, widened by the longest silences seen so far; it
            # narrows from early_prior_s on day 0 to margin · floor at learn_days (where the learned
            # routine takes over): days without a longer silence around these hours are evidence
            known = min((t - si[r, S_FIRST]) / (params[P_LEARN_S] * 1000.0), 1.0)
            end_prior = min(params[P_MARGIN] * floor, params[P_EARLY_PRIOR_S])
            prior = params[P_EARLY_PRIOR_S] - (params[P_EARLY_PRIOR_S] - end_prior) * known
            if params[P_NIGHT_END_H] <= h < 12:  # mornings are busier than afternoons (the nap after lunch)
                prior = min(prior, params[P_EARLY_MORNING_S])
            # home through a day's daytime: an up-and-about home whose silences have all been short gets no
            # more than margin · its longest in the daytime hours (pads and the bedroom aside: a
            # seated TV afternoon or a morning back in bed is rarer than a day shows)
            prior = max(prior, floor)
            day_prior = prior
            evidence_h = params[P_EARLY_EVIDENCE_H]
            if evidence_h > 0.0 and ctx == CTX_ACTIVE and daytime_hours_home(hist, r, params) >= evidence_h:
                day_prior = max(end_prior, floor, longest_daytime(hist, r, hist_index(ctx), params))
            deadline, basis = early_deadline(hist, r, hist_index(ctx), t, off, day_prior, prior, fixed, params)
            limit = (deadline - t) / 1000.0
            si[r, S_LEARNED] = basis
        # right after coming in: a silence in the hall is not sitting down, and sitting down at once (the
        # seat pad within arrival_window_s of the door) may be collapsing into the first chair
        sat_down = ctx == CTX_SEATED and _just_in(si, r, t, params)
        if ctx == CTX_ARRIVED or sat_down:
            cap = t + int(params[P_ARRIVAL_LIMIT_S] * 1000.0)
            if cap < deadline:
                deadline = cap
                limit = params[P_ARRIVAL_LIMIT_S]
                si[r, S_LEARNED] = B_FIXED | W_ARRIVED
        # a home that has shown it sits through its evenings (its learned seated limit, or in the first
        # days margin × the longest seated silence seen around this hour) beyond evening_max_s: a seated
        # evening silence may last that long, up to evening_seat_max_s (a long TV evening in an armchair
        # that only its seat pad sees is one silence every such evening); only on the pad: a stale one
        # sees nothing, and a collapse elsewhere in the evening is due by evening_max_s
        seat_allow = 0.0
        shown = si[r, S_LEARNED] == B_LEARNED or si[r, S_LEARNED] == B_OBSERVED
        if evening and ctx == CTX_SEATED and si[r, S_SEAT] == PAD_ON and shown and params[P_EVENING_MAX_S] > 0.0:
            seat_allow = min(limit, params[P_EVENING_SEAT_MAX_S])
            if seat_allow <= params[P_EVENING_MAX_S]:
                seat_allow = 0.0
        if evening and si[r, S_LEARNED] != B_LEARNED:
            # before this home's evenings are learned: an evening silence that never reaches the
            # bedroom is due by the usual bed time (≥ evening floor, ≤ evening ceiling)
            line, basis = bed_line_min(si, wake, r, params)
            m0 = (local_minute(t, off) - 720) % 1440
            if m0 < line:
                wait = min(max(params[P_EVENING_FLOOR_S], (line - m0) * 60.0), params[P_EVENING_CEIL_S])
            else:  # up later than usual (back from an evening out, a sleepless night): a longer limit
                wait = params[P_LATE_FLOOR_S]
            if bath and params[P_EVENING_MAX_S] > 0.0:  # right after the toilet: the whole evening allowance
                wait = max(wait, params[P_EVENING_MAX_S])
            wait = max(wait, seat_allow)
            cap = t + int(wait * 1000.0)
            if cap < deadline:
                deadline = cap
                limit = (cap - t) / 1000.0
                si[r, S_LEARNED] = basis | W_EVENING
        if evening and params[P_EVENING_MAX_S] > 0.0:
            # however late the usual bed time and however quiet this home's evenings: an evening silence
            # that never reached the bedroom is due at most evening_max_s after it began (seated, what
            # this home has shown, up to evening_seat_max_s)
            cap_s = max(params[P_EVENING_MAX_S], seat_allow)
            cap = t + int(cap_s * 1000.0)
            if cap < deadline:
                deadline = cap
                limit = cap_s
                si[r, S_LEARNED] = (si[r, S_LEARNED] & B_MASK) | W_EVENING_MAX
        if outside_bedroom and not evening and params[P_EVENING_MAX_S] > 0.0:
            # a daytime silence that runs into the evening (the kitchen at 18:57, then nothing): in the
            # evening it is an evening silence, due at most evening_max_s after the evening began (seated,
            # what this home has shown, as above), however long this home's evenings were learned to be
            allow = params[P_EVENING_MAX_S]
            if ctx == CTX_SEATED and si[r, S_SEAT] == PAD_ON and shown:
                allow = max(allow, min(limit, params[P_EVENING_SEAT_MAX_S]))
            local_day = ((t + off * MIN_MS) // DAY_MS) * DAY_MS
            evening_starts = local_day + int(params[P_EVENING_START_H]) * HOUR_MS - off * MIN_MS
            cap = evening_starts + int(allow * 1000.0)
            if cap < deadline:
                deadline = cap
                limit = (cap - t) / 1000.0
                si[r, S_LEARNED] = (si[r, S_LEARNED] & B_MASK) | W_EVENING_MAX
    si[r, S_DEADLINE] = deadline
    si[r, S_THR] = int(limit)
    si[r, S_DKIND] = kind


@njit(**JIT)
def _emit(
    out_i: np.ndarray,
    out_f: np.ndarray,
    n: int,
    r: int,
    kind: int,
    start: int,
    due: int,
    learned: int,
    thr_s: float,
    ctx: int,
) -> int:
    out_i[n, 0] = r
    out_i[n, 1] = kind
    out_i[n, 2] = start
    out_i[n, 3] = due
    out_i[n, 4] = learned
    out_f[n, 0] = thr_s
    out_f[n, 1] = ctx
    return n + 1


@njit(**JIT)
def _due(
    si: np.ndarray,
    r: int,
    t: int,
    monitored: np.ndarray,
    params: np.ndarray,
    out_i: np.ndarray,
    out_f: np.ndarray,
    n: int,
) -> int:
    """Fire the timers of resident ``r`` that are due at ``t`` (epoch ms)."""
    if si[r, S_FIRED] == 0 and si[r, S_DEADLINE] <= t:
        if monitored[r] == 1:
            si[r, S_FIRED] = 1
            n = _emit(
                out_i,
                out_f,
                n,
                r,
                si[r, S_DKIND],
                si[r, S_LAST],
                si[r, S_DEADLINE],
                si[r, S_LEARNED],
                float(si[r, S_THR]),
                si[r, S_CTX],
            )
        else:
            si[r, S_FIRED] = 2
    if si[r, S_ABS_DEADLINE] <= t:
        watched = True
        if si[r, S_TRIP] != 0:  # a trip no pad armed ran out: an alert where trips come back, and counted
            watched = trips_watched(si, r, params)
            if si[r, S_TRIP] != 2:
                si[r, S_TRIPS_OUT] += int(EXPO_SCALE)
                si[r, S_TRIP] = 2
        if watched:
            si[r, S_ABS_RAN_OUT] = si[r, S_ABS_START]
        if monitored[r] == 1 and watched:
            n = _emit(
                out_i,
                out_f,
                n,
                r,
                K_NIGHT_ABSENCE,
                si[r, S_ABS_START],
                si[r, S_ABS_DEADLINE],
                0,
                (si[r, S_ABS_DEADLINE] - si[r, S_ABS_START]) / 1000.0,
                CTX_ACTIVE,
            )
        si[r, S_ABS_DEADLINE] = NEVER
    return n


@njit(**JIT)
def home_process(
    si: np.ndarray,
    hist: np.ndarray,
    wake: np.ndarray,
    res: np.ndarray,
    ts: np.ndarray,
    code: np.ndarray,
    value: np.ndarray,
    room: np.ndarray,
    pir: np.ndarray,
    monitored: np.ndarray,
    params: np.ndarray,
    out_i: np.ndarray,
    out_f: np.ndarray,
) -> int:
    """Apply a batch of home-sensor events in arrival order.

    Per event ``i``: resident slot ``res[i]``, epoch ms ``ts[i]``, ``code[i]`` (``EV_*``), ``value[i]``
    (1 on / occupied / open, 0 off), ``room[i]`` (``ROOM_*``), ``pir[i]`` (1 for a motion sensor).
    Timers due at or before the event's time fire first, so feeding events one by one or in one batch
    gives the same detections. Writes rows ``(r, kind, start_ms, due_ms, learned)`` /
    ``(threshold_s, ctx)``; ``out_*`` need ``OUT_ROWS_PER_EVENT·len(res)`` rows. Returns the number
    written. A ``K_MOVING`` row (:func:`_moving_again`) is ``(r, K_MOVING, alert's start_ms, moved_ms,
    alert's kind)`` / ``(silent_s, room)``.
    """
    n = 0
    for i in range(res.shape[0]):
        r = res[i]
        t = ts[i]
        c = code[i]
        if c == EV_IGNORE:
            continue
        if c == EV_MOTION_END:
            # a motion sensor that held "occupied" saw motion until now: where the current silence began
            # with motion in that room, or as the home's first report (monitoring began while it held),
            # it begins now (a PIR logged as intervals, a retriggerable one); a sensor clearing in a
            # room the resident has left is no sign of them
            if si[r, S_LAST] >= 0 and si[r, S_MOTION_ROOM] != room[i]:
                continue
            c = EV_ACTIVITY
        if c == EV_PRESENCE:
            # Lying still under a radar is no reason to wait: presence never restarts a silence at
            # home. It only ends an away silence (they are in) or starts the first one.
            if value[i] == 0 or (si[r, S_LAST] >= 0 and si[r, S_CTX] != CTX_AWAY):
                continue
            c = EV_ACTIVITY
        if c in (EV_BED, EV_SEAT):
            col = S_BED if c == EV_BED else S_SEAT
            first = value[i] == 0 and si[r, S_LAST] < 0  # getting up: monitoring began while they lay there
            if not first and ((value[i] == 1 and si[r, col] != PAD_FREE) or (value[i] == 0 and si[r, col] != PAD_ON)):
                # occupied for long is not activity: a pad repeating "occupied", or a stale pad
                # (the resident was seen elsewhere since) letting go, starts no silence
                if value[i] == 0:
                    if si[r, col] == PAD_STALE:
                        bed = c == EV_BED
                        _stale_released(
                            si, r, t, S_BED_STALE if bed else S_SEAT_STALE, S_BED_LATE if bed else S_SEAT_LATE
                        )
                    si[r, col] = PAD_FREE
                elif c == EV_SEAT and si[r, S_ABS_DEADLINE] != NEVER and t >= si[r, S_LAST]:
                    n = _due(si, r, t, monitored, params, out_i, out_f, n)
                    si[r, S_ABS_DEADLINE] = NEVER  # out of bed at night, but someone is on the seat
                continue
        if si[r, S_FIRST] < 0:
            si[r, S_FIRST] = t
        if t < si[r, S_LAST]:
            continue
        n = _due(si, r, t, monitored, params, out_i, out_f, n)
        n = _moving_again(si, r, t, room[i], monitored, out_i, out_f, n)
        _seen_after_absence(si, r, t, c, params)
        fade_to_day(si, hist, r, t, params)
        off = si[r, S_OFFSET]
        if c == EV_BED:
            if value[i] == 1:
                if si[r, S_BED_ON] < si[r, S_REST_SINCE] <= si[r, S_SEAT_ON]:
                    # tonight's rest so far was on the seat pad (taken for rest before the home has
                    # shown a bed trace): the night's sleep begins now, in bed
                    si[r, S_REST_SINCE] = t
                si[r, S_BED] = PAD_ON
                si[r, S_BED_ROOM] = room[i]
                si[r, S_BED_ON] = t
                si[r, S_ABS_DEADLINE] = NEVER
                si[r, S_ABS_OUT] = 0
                si[r, S_TRIP] = 0
            else:
                si[r, S_BED] = PAD_FREE
                # a pad that lets go with nothing else seen may be a sleeper at its edge: the timer is
                # armed by the first activity out of the bed's room (:func:`_night_absence`)
                si[r, S_ABS_OUT] = 1 if _up_at_night(si, wake, r, t, params) else 0
        elif c == EV_SEAT:
            si[r, S_SEAT] = PAD_ON if value[i] == 1 else PAD_FREE
            si[r, S_SEAT_ROOM] = room[i]
            si[r, S_SEAT_ON] = t
        else:  # seen in another room or at the entrance door: an occupied pad there is stale
            elsewhere = c == EV_DOOR or room[i] != si[r, S_BED_ROOM]
            if si[r, S_BED] == PAD_ON and elsewhere and t - si[r, S_BED_ON] >= PAD_SETTLE_MS:
                si[r, S_BED] = PAD_STALE
                si[r, S_BED_STALE] = t
            elsewhere = c == EV_DOOR or room[i] != si[r, S_SEAT_ROOM]
            if si[r, S_SEAT] == PAD_ON and elsewhere and t - si[r, S_SEAT_ON] >= PAD_SETTLE_MS:
                si[r, S_SEAT] = PAD_STALE
                si[r, S_SEAT_STALE] = t
        # a passage through the entrance door (open and close): in, when the home was taken for empty,
        # or out; told before the night-absence step, which a passage out stops
        if c == EV_DOOR:
            closing = value[i] == 0 and si[r, S_DOOR_OPEN] == 1  # a door held open: the same passage
            if si[r, S_DOOR_LAST] < 0 or (t - si[r, S_DOOR_LAST] > params[P_DOOR_PAIR_S] * 1000.0 and not closing):
                # soon after going out: back in (unsure), unless that was already the way back in (back
                # for the keys, out again: passages alternate)
                went_out = si[r, S_LAST] >= 0 and si[r, S_CTX] == CTX_AWAY
                came_in = went_out and t - si[r, S_LAST] >= params[P_AWAY_MIN_S] * 1000.0
                unsure = went_out and not came_in and si[r, S_DOOR_IN] == DOOR_OUT
                si[r, S_DOOR_IN] = DOOR_IN if came_in else DOOR_UNSURE if unsure else DOOR_OUT
                if came_in:
                    si[r, S_ARRIVED] = t
            si[r, S_DOOR_LAST] = t
            si[r, S_DOOR_OPEN] = 1 if value[i] == 1 else 0
        leaving = _leaves_rest(si, wake, r, t, c, room[i], pir[i], params)
        if leaving:  # the trip is watched from here
            si[r, S_TRIP] = 1
            si[r, S_ABS_OUT] = 1
            if room[i] == ROOM_BED:  # the bedroom door: the timer runs from it
                si[r, S_TRIP] = 3
                si[r, S_ABS_OUT] = 2
                si[r, S_ABS_UP] = t
                _absence_from(si, r, t, _trip_limit(si, r, params))
        if c != EV_BED and si[r, S_ABS_OUT] != 0 and not (leaving and room[i] == ROOM_BED):
            _night_absence(si, wake, r, t, c, value[i], room[i], params)  # out of bed at night, moving about
        if room[i] != ROOM_BED or c == EV_DOOR:
            si[r, S_BEDROOM_SINCE] = -1
        elif si[r, S_BEDROOM_SINCE] < 0 or leaving:
            si[r, S_BEDROOM_SINCE] = t
        last = si[r, S_LAST]
        woke_unseen = False
        if last >= 0:
            gap_s = (t - last) / 1000.0
            # the silence ending now began right after the toilet (nothing since has been in the bathroom)
            after_toilet = last - si[r, S_BATH_AT] <= BED_BATH_WINDOW_MS
            if (
                si[r, S_MOTION_ROOM] == ROOM_BATH
                and room[i] != ROOM_BATH
                and gap_s >= params[P_BATH_UNSEEN_S]
                and not _is_night(local_hour(last, off), params)  # (at night: back to bed unseen)
            ):
                si[r, S_BATH_UNSEEN] += int(EXPO_SCALE)
            ctx = si[r, S_CTX]
            hc = hist_index(ctx)
            if hc >= 0:
                _add_span(hist, r, hc, last, t, off, params)
            if ctx != CTX_AWAY or c != EV_DOOR:  # an away silence ended from inside: they were in
                _add_presence(hist, r, last, t, off)
            elif si[r, S_DOOR_IN] == DOOR_IN:  # back in from an outing
                si[r, S_OUT_LONGEST] = max(si[r, S_OUT_LONGEST], t - last)
            rested = ctx == CTX_REST and si[r, S_NIGHT] == 1
            began = si[r, S_REST_SINCE] if rested else last
            # a whole night's sleep (an early sleeper's: in bed at 17:30, up at 03:30) may have begun from
            # bed_floor_min and end from wake_early_lo_min; a shorter one is a trip from bed before 04:00
            whole = began >= 0 and t - began >= params[P_FULL_NIGHT_S] * 1000.0
            from_evening = _is_evening(local_hour(last, off), params)
            # a night that began in the bedroom or on the bed pad before the night hours (to bed at 19:30)
            early_bed = (
                params[P_EARLY_NIGHTS] != 0.0
                and (ctx == CTX_BEDROOM or (ctx == CTX_REST and not rested))
                and (from_evening or (whole and local_minute(last, off) >= params[P_BED_FLOOR_MIN]))
            )
            # a night's sleep no rest context held (nothing in the bedroom, a seat taken for sitting):
            # a silence from the evening into the wake-up window, wherever it began
            unseen_night = (
                params[P_UNTRACED_NIGHTS] != 0.0
                and ctx in (CTX_ACTIVE, CTX_SEATED, CTX_ARRIVED, CTX_BATH)
                and from_evening
            )
            if (rested or early_bed or unseen_night) and gap_s >= params[P_MIN_SLEEP_S]:
                m = local_minute(t, off)
                lo = params[P_WAKE_EARLY_LO_MIN] if whole else params[P_WAKE_WIN_LO_MIN]
                bed_lo = (params[P_BED_FLOOR_MIN] if whole else 18 * 60) - 720  # minutes after noon
                if lo <= m < params[P_WAKE_WIN_HI_MIN]:
                    ring = wake.shape[1] // 2
                    wake[r, si[r, S_NWAKE] % ring] = m
                    si[r, S_NWAKE] += 1
                    if began >= 0:  # and when that night began (minutes after noon)
                        bed_m = (local_minute(began, off) - 720) % 1440
                        if bed_lo <= bed_m < 960:
                            wake[r, ring + si[r, S_NBED] % ring] = bed_m
                            si[r, S_NBED] += 1
                        if (rested and si[r, S_REST_TRACED] == 1) or early_bed:
                            si[r, S_NIGHTS_TRACED] += int(EXPO_SCALE)
                        else:
                            si[r, S_NIGHTS_UNTRACED] += int(EXPO_SCALE)
                            if si[r, S_REST_BATH] == 1 if rested else after_toilet:
                                si[r, S_NIGHTS_BATH] += int(EXPO_SCALE)
            # where nights leave no trace, a long evening silence that ends at night was sleep: tonight's
            # rest began with it, and this is a trip from bed (its bed time is not the return from the trip)
            if (
                unseen_night
                and gap_s >= params[P_MIN_SLEEP_S]
                and _is_night(local_hour(t, off), params)
                and si[r, S_REST_SINCE] < 0
                and traceless(si, r, params)
            ):
                si[r, S_REST_SINCE] = last
                si[r, S_REST_TRACED] = 0
                si[r, S_REST_BATH] = 1 if after_toilet else 0
                woke_unseen = True
            # an early sleeper to bed before the evening hours (the bedroom or the bed pad from bed_floor_min,
            # 18:00) and up on a trip in the night hours after a whole night's sleep so far (full_night_s: an
            # evening nap is shorter): tonight's rest began then, so this is a trip from bed and the night's
            # bed time is 18:00, not the return from the trip (which kept every such evening a bedroom
            # silence by day, due hours before the resident woke)
            if (
                params[P_EARLY_NIGHTS] != 0.0
                and (ctx == CTX_BEDROOM or (ctx == CTX_REST and not rested))
                and gap_s >= params[P_FULL_NIGHT_S]
                and _is_night(local_hour(t, off), params)
                and si[r, S_REST_SINCE] < 0
                and params[P_BED_FLOOR_MIN] <= local_minute(last, off) < int(params[P_EVENING_START_H]) * 60
            ):
                si[r, S_REST_SINCE] = last
                si[r, S_REST_TRACED] = 1
                woke_unseen = True
        # in the bathroom on a trip from bed tonight's rest goes on: its door or flush next is the trip
        # too, so a return to bed that no sensor sees (no bedroom motion, no bed pad) is still the night
        asleep = (
            (si[r, S_CTX] == CTX_REST and si[r, S_NIGHT] == 1)
            or (si[r, S_CTX] == CTX_BATH and si[r, S_REST_SINCE] >= 0)
            or woke_unseen
        )
        early = _early_night(si, wake, r, t, room[i], params)
        night_hours = _is_night(local_hour(t, off), params)
        night = night_hours or early
        # before the usual wake-up the night is not over: a silence that starts in the bedroom is rest,
        # and so is one after the toilet's door or flush while tonight's rest goes on (a trip from bed,
        # the hall on the way included); the entrance door ends it
        window = c != EV_DOOR and _before_wake(si, wake, r, t, params)
        if room[i] == ROOM_BATH:
            si[r, S_BATH_AT] = t
        toilet = t - si[r, S_BATH_AT] <= BED_BATH_WINDOW_MS  # right after the toilet (on the way to bed)
        rest_on = window and si[r, S_REST_SINCE] >= 0
        morning = window and (room[i] == ROOM_BED or (rest_on and room[i] == ROOM_BATH and pir[i] == 0))
        if si[r, S_BED] == PAD_ON:
            ctx = CTX_REST
        elif si[r, S_SEAT] == PAD_ON:
            # at night resting, unless the home has shown that going to bed leaves a bedroom trace; and
            # anywhere dozing off in the armchair past the usual bed time (before the wake-up's early edge)
            dozing = _up_at_night(si, wake, r, t, params) and _past_bed_line(si, wake, r, t, params)
            ctx = CTX_REST if night and (si[r, S_NBED] == 0 or dozing) else CTX_SEATED
        elif c == EV_DOOR:
            ctx = CTX_ARRIVED if si[r, S_DOOR_IN] == DOOR_IN else CTX_AWAY
        elif room[i] == ROOM_BED and not morning and _just_in(si, r, t, params):
            ctx = CTX_ARRIVED  # straight to the bedroom from the entrance door: not yet gone to bed
        elif (
            room[i] == ROOM_BED
            and night
            and not morning
            and si[r, S_SEAT] == PAD_STALE
            and si[r, S_NBED] > 0
            and not _past_bed_edge(si, wake, r, t, params)
        ):
            # the bedroom in the evening before this home's nights begin, while the seat pad has not let
            # go: back in the armchair would not show, so this may be a sitting, not going to bed early
            ctx = CTX_SEATED
        elif (room[i] == ROOM_BED and night) or morning:
            ctx = CTX_REST
        elif (
            room[i] == ROOM_BATH
            and pir[i] == 1
            and si[r, S_BED] == PAD_STALE
            and (rest_on or (asleep and _up_at_night(si, wake, r, t, params)))
        ):
            # a trip from bed whose pad did not let go (sticky): the return to bed will not show either,
            # so tonight's rest goes on (in bed at the usual wake-up, not an hour's bathroom stay)
            ctx = CTX_REST
            morning = morning or rest_on
        elif room[i] == ROOM_BATH and pir[i] == 1 and not bath_blind(si, r, params):
            ctx = CTX_BATH
        elif asleep and _up_at_night(si, wake, r, t, params) and _trip_from_bed(si, r, t, room[i], params):
            ctx = CTX_REST
        elif room[i] == ROOM_BED and si[r, S_BED] == PAD_STALE:
            # lying down again on a bed pad that did not let go would not show: the bedroom is a rest then
            ctx = CTX_REST
        elif si[r, S_SEAT] == PAD_STALE:
            # the seat pad did not let go when the resident got up (sticky): back in the chair would not
            # show either, so a silence that starts elsewhere (the bedroom too) may be a sitting
            ctx = CTX_SEATED
        elif room[i] == ROOM_BED:
            ctx = CTX_BEDROOM
        else:
            ctx = CTX_ACTIVE
        if ctx == CTX_ACTIVE and _just_in(si, r, t, params):
            ctx = CTX_ARRIVED
        if ctx == CTX_ARRIVED and si[r, S_SEAT] == PAD_STALE:
            # the seat pad held "occupied" while they were out (sticky): sitting down will not show, so
            # this is one who may have sat down at once (seated, due by arrival_limit_s)
            ctx = CTX_SEATED
        # (in the night hours only: where the evenings go unseen too, the bed times are the evening's last
        # report and their edge too early to begin the night before night_start_h)
        by_clock = (
            ctx in (CTX_ACTIVE, CTX_SEATED)
            and night_hours
            and _to_bed_unseen(si, wake, r, t, room[i] == ROOM_BATH, toilet, params)
        )
        if by_clock:  # where nights leave no trace, going to bed is told by the clock
            ctx = CTX_REST
        # sat down on a night-time trip from bed (a sleepless spell): tonight's rest goes on, so its bed
        # time is not the return to bed at 03:30
        spell = ctx == CTX_SEATED and night and asleep and _trip_from_bed(si, r, t, room[i], params)
        # a rest no bedroom trace began, up and about again within trip_rest_s (the toilet before bed): it
        # starts anew, so the night's bed time is the last activity before sleep, not the clock's edge
        young = (
            si[r, S_REST_TRACED] == 0
            and si[r, S_REST_SINCE] >= 0
            and t - si[r, S_REST_SINCE] < params[P_TRIP_REST_S] * 1000.0
        )
        if ctx == CTX_REST and (night or morning):
            if si[r, S_REST_SINCE] < 0 or by_clock or young:
                si[r, S_REST_SINCE] = t
                si[r, S_REST_TRACED] = 0
                si[r, S_REST_BATH] = 1 if toilet else 0
            if si[r, S_BED] == PAD_ON or room[i] == ROOM_BED:
                si[r, S_REST_TRACED] = 1
        elif ctx != CTX_BATH and not rest_on and not spell:
            si[r, S_REST_SINCE] = -1
        if si[r, S_REST_SINCE] < 0:
            si[r, S_REST_FIRST] = -1
        elif si[r, S_REST_FIRST] < 0 or si[r, S_REST_SINCE] < si[r, S_REST_FIRST]:
            si[r, S_REST_FIRST] = si[r, S_REST_SINCE]
        si[r, S_MOTION_ROOM] = room[i] if pir[i] == 1 else -1
        _start_silence(si, hist, wake, r, t, ctx, room[i] == ROOM_BATH, morning or early, params)
    return n


@njit(**JIT)
def home_advance(
    si: np.ndarray,
    n_res: int,
    now_ms: int,
    monitored: np.ndarray,
    params: np.ndarray,
    out_i: np.ndarray,
    out_f: np.ndarray,
) -> int:
    """Fire every timer due at ``now_ms`` (epoch ms); ``out_*`` need ``2·n_res`` rows."""
    n = 0
    for r in range(n_res):
        if si[r, S_LAST] < 0 and si[r, S_ABS_DEADLINE] == NEVER:
            continue
        n = _due(si, r, now_ms, monitored, params, out_i, out_f, n)
    return n
