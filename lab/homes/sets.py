"""The command line's choice of homes: synthetic (:func:`lab.homes.synthetic.synthetic_set`) or a
home event log set (``--dir``), shared by the lab's home commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from lab.homes.logs import HomeLog, load_homes
from lab.homes.residents import HELD_OUT_LAYOUTS, LAYOUTS


def add_set_arguments(parser: argparse.ArgumentParser, log_dir: bool = True) -> None:
    """The command-line arguments that choose a set of homes: ``--homes --days --seed --layout
    --door-open --enrolled`` of :func:`lab.homes.synthetic.synthetic_set`, and ``--dir`` (a home event
    log set instead) when ``log_dir``; for either, ``--shift H`` (every day H hours later, earlier when
    negative: :func:`lab.homes.variants.shifted`) and ``--pads-held H`` (every pressure pad letting go H
    hours late: :func:`lab.homes.variants.pads_held`); read them back with :func:`homes_of`."""
    if log_dir:
        parser.add_argument("--dir", type=Path, help="a home event log set instead of synthetic homes")
    parser.add_argument("--homes", type=int, default=12)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--layout",
        choices=sorted({*HELD_OUT_LAYOUTS, *LAYOUTS}),
        help="every home with PIR in this layout: a held-out one, or a drawn one (cooker_bathroom: as Ordóñez's)",
    )
    parser.add_argument("--door-open", type=float, default=0.0, help="share of nights the bedroom door is left open")
    parser.add_argument(
        "--enrolled",
        type=float,
        metavar="SD_MIN",
        help="the usual wake-up and bed time told at enrolment, off by this many minutes (sd), to the half hour",
    )
    parser.add_argument("--shift", type=int, default=0, help="every day this many hours later (< 0: earlier)")
    parser.add_argument(
        "--pads-held", type=float, default=0.0, metavar="H", help="every pressure pad lets go H hours late"
    )


def homes_of(args: argparse.Namespace) -> list[HomeLog]:
    """The homes :func:`add_set_arguments`' arguments chose."""
    if getattr(args, "dir", None):
        homes = load_homes(args.dir)
    else:
        from lab.homes.synthetic import synthetic_set

        homes = synthetic_set(args.homes, args.days, args.seed, args.layout, args.door_open, args.enrolled)
    return varied(homes, args)


def truths_of(args: argparse.Namespace) -> list[HomeLog] | None:
    """The homes :func:`homes_of` chose as their residents lived (pads letting go when they were left,
    bedroom doors reporting; at the same clock), where the evaluation chooses its stops; ``None`` when
    they are those homes already."""
    if args.pads_held <= 0 and getattr(args, "door_open", 0.0) <= 0:
        return None
    return homes_of(argparse.Namespace(**{**vars(args), "pads_held": 0.0, "door_open": 0.0}))


def varied(homes: list[HomeLog], args: argparse.Namespace) -> list[HomeLog]:
    """``homes`` shifted (``--shift``) and with their pads held (``--pads-held``) as ``args`` ask."""
    from lab.homes.variants import pads_held, shifted

    if args.shift:
        homes = [shifted(log, args.shift) for log in homes]
    if args.pads_held > 0:
        homes = [pads_held(log, args.pads_held) for log in homes]
    return homes
