"""The ``eldercare`` command: run the platform, replay recordings, benchmark."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="eldercare: smart elderly-care platform.", no_args_is_help=True)
replay_app = typer.Typer(help="Replay recordings through the live detection code, in simulated time.")
bench_app = typer.Typer(help="Benchmarks; each prints its figures, with --json one JSON object last.")
app.add_typer(replay_app, name="replay")
app.add_typer(bench_app, name="bench")

JsonFlag = Annotated[bool, typer.Option("--json", help="print one JSON object with the figures last")]


@replay_app.command("falls")
def replay_falls(
    directory: Annotated[Path, typer.Argument(help="an IMU recording set (index.csv + recordings)")],
    folds: Annotated[int, typer.Option(help="subject-wise cross-validation folds (0: the shipped model)")] = 5,
    limit: Annotated[int, typer.Option(help="only the first N recordings (0: all)")] = 0,
) -> None:
    """One JSON line per recording with the falls found; a summary line when labels exist."""
    from stream.replay_falls import replay_falls as run

    run(directory, out=sys.stdout, folds=folds, limit=limit)


@replay_app.command("homes")
def replay_homes(
    directory: Annotated[Path, typer.Argument(help="a home event log set (index.csv + logs)")],
    inject: Annotated[int, typer.Option(help="per home, cut the log at N seeded daytime moments and time "
                                        "the inactivity alert (0: off)")] = 0,
    seed: Annotated[int, typer.Option(help="seed of the injected cuts")] = 0,
) -> None:
    """One JSON line per alert raised while replaying each home's log; a summary line last."""
    from stream.replay_homes import replay_homes as run

    run(directory, out=sys.stdout, inject_n=inject, seed=seed)


@bench_app.command("stream")
def bench_stream(json_output: JsonFlag = False) -> None:
    """Kernel throughput beside the NumPy reference, and the JIT cost."""
    from eldercare.bench.stream import run

    run(json_output=json_output)


@bench_app.command("e2e")
def bench_e2e(
    presses: Annotated[int, typer.Option(help="SOS presses to send")] = 1000,
    rate: Annotated[float, typer.Option(help="presses per second")] = 200.0,
    json_output: JsonFlag = False,
) -> None:
    """SOS press → console websocket latency, beside the bare broker round trip."""
    from eldercare import logs
    from eldercare.bench.e2e import run
    from eldercare.settings import get_settings

    logs.configure(level="WARNING")
    run(get_settings(), presses, rate, json_output)


@bench_app.command("faults")
def bench_faults(
    presses: Annotated[int, typer.Option(help="SOS presses per scenario")] = 200,
    outage: Annotated[float, typer.Option(help="database outage, seconds")] = 60.0,
    rate: Annotated[float, typer.Option(help="presses per second")] = 20.0,
    json_output: JsonFlag = False,
) -> None:
    """Broker restart, worker SIGKILL, database outage, full spool, clock skew, overload: lost/duplicates."""
    from eldercare import logs
    from eldercare.bench.faults import run
    from eldercare.settings import get_settings

    logs.configure(level="CRITICAL")
    run(get_settings(), presses, outage, rate, json_output)


def main() -> None:  # pragma: no cover - console entry point
    app()


@app.command()
def up(demo: Annotated[bool, typer.Option("--demo", help="seed three homes and run their simulators")] = False) -> None:
    """Run the platform: broker and database (embedded unless configured), gateway, stream, API, console."""
    import asyncio

    from eldercare import logs, serve
    from eldercare.settings import get_settings

    settings = get_settings()
    logs.configure(as_json=settings.log_json)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve.run(settings, demo))
