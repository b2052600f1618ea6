"""The ``eldercare`` command: run the platform, replay recordings, benchmark.

One module for the whole command tree (about 550 lines) so ``eldercare --help`` reads top to bottom;
each command only parses its options and calls the package that does the work."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from eldercare.settings import Settings

app = typer.Typer(help="eldercare: smart elderly-care platform.", no_args_is_help=True)
replay_app = typer.Typer(help="Replay recordings through the live detection code, in simulated time.")
bench_app = typer.Typer(help="Benchmarks; each prints its figures, with --json one JSON object last.")
app.add_typer(replay_app, name="replay")
app.add_typer(bench_app, name="bench")

JsonFlag = Annotated[bool, typer.Option("--json", help="print one JSON object with the figures last")]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        help="a PostgreSQL server for a throwaway database (default: ELDERCARE_DATABASE_URL, else an embedded one"
        " in a temp directory)"
    ),
]


@replay_app.command("falls")
def replay_falls(
    directory: Annotated[
        Path, typer.Argument(help="an IMU recording set (index.csv + recordings)", exists=True, file_okay=False)
    ],
    folds: Annotated[
        int,
        typer.Option(
            help="subject-wise cross-validation folds at the waist; wrist and pocket sets leave one subject out"
            " (0: the shipped models)"
        ),
    ] = 5,
    limit: Annotated[int, typer.Option(help="only the first N recordings (0: all)")] = 0,
) -> None:
    """One JSON line per recording with the falls found; a summary line (overall, per group and per
    placement: waist, wrist, pocket, read from each recording's source) when labels exist."""
    from lab.falls.replay import replay_falls as run

    run(directory, out=sys.stdout, folds=folds, limit=limit)


@replay_app.command("homes")
def replay_homes(
    directory: Annotated[
        Path, typer.Argument(help="a home event log set (index.csv + logs)", exists=True, file_okay=False)
    ],
    inject: Annotated[
        int,
        typer.Option(
            help="per home and family (day, first weeks, evening, after coming home, night trip), cut the log at N "
            "seeded moments and time the inactivity alert (0: off)"
        ),
    ] = 0,
    seed: Annotated[int, typer.Option(help="seed of the injected cuts")] = 0,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="a HomeConfig override name=value, repeatable (flags: 0/1, true/false), e.g. --set evening_bath=0",
        ),
    ] = None,
) -> None:
    """One JSON line per alert raised while replaying each home's log; a summary line last."""
    from lab.homes.eval import home_config
    from lab.homes.replay import replay_homes as run

    run(directory, out=sys.stdout, inject_n=inject, seed=seed, config=home_config(overrides or []))


@bench_app.command("stream")
def bench_stream(json_output: JsonFlag = False) -> None:
    """Kernel throughput beside the NumPy reference, and the JIT cost."""
    from lab.bench.stream import run

    run(json_output=json_output)


@bench_app.command("e2e")
def bench_e2e(
    presses: Annotated[int, typer.Option(help="SOS presses to send")] = 1000,
    rate: Annotated[float, typer.Option(help="presses per second")] = 200.0,
    homes: Annotated[int, typer.Option(help="simulated homes publishing in the background (0: none)")] = 500,
    site_broker: Annotated[
        bool,
        typer.Option(help="a private Mosquitto with deploy/mosquitto.conf's settings (else the configured broker)"),
    ] = True,
    json_output: JsonFlag = False,
) -> None:
    """SOS press → console websocket latency under simulated homes' traffic, beside the bare broker
    round trip under the same traffic; and press → the button hearing "call received"."""
    from eldercare import logs
    from eldercare.settings import get_settings
    from lab.bench.e2e import run

    logs.configure(level="WARNING")
    run(get_settings(), presses, rate, json_output, homes, site_broker)


@bench_app.command("sla")
def bench_sla(
    alerts: Annotated[int, typer.Option(help="alerts over the simulated day")] = 800,
    operators: Annotated[int, typer.Option(help="simulated operators on shift")] = 3,
    seed: Annotated[int, typer.Option(help="random seed of the day")] = 12349,
    database_url: DatabaseUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """A simulated day through the real AlertService: share answered within 60 s / 180 s, time to scene."""
    from eldercare import logs
    from eldercare.settings import get_settings
    from lab.bench.sla import run

    logs.configure(level="ERROR")
    run(database_url or get_settings().database_url, alerts, operators, seed, json_output)


@bench_app.command("service")
def bench_service(
    residents: Annotated[int, typer.Option(help="residents of the simulated district")] = 10_000,
    calls: Annotated[int, typer.Option(help="hotline calls over the day")] = 2_400,
    plan_share: Annotated[float, typer.Option(help="share of residents on a weekday lunch plan")] = 0.1,
    emergencies: Annotated[int, typer.Option(help="emergencies reported by phone")] = 20,
    seed: Annotated[int, typer.Option(help="random seed of the day")] = 12349,
    database_url: DatabaseUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """A simulated day of one district's service centre: on-time rate, satisfaction, order-board p99."""
    from eldercare import logs
    from eldercare.settings import get_settings
    from lab.bench.service import run

    logs.configure(level="ERROR")
    run(database_url or get_settings().database_url, residents, calls, plan_share, emergencies, seed, json_output)


@bench_app.command("reports")
def bench_reports(
    residents: Annotated[int, typer.Option(help="residents of the synthetic city")] = 100_000,
    repeats: Annotated[int, typer.Option(help="runs of each dashboard query")] = 20,
    seed: Annotated[int, typer.Option(help="random seed of the city")] = 12349,
    database_url: DatabaseUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """The care dashboard's queries on a synthetic city with a year of visits and alerts: p50/p95 each."""
    from eldercare import logs
    from eldercare.settings import get_settings
    from lab.bench.reports import run

    logs.configure(level="ERROR")
    run(database_url or get_settings().database_url, residents, repeats, seed, json_output)


@bench_app.command("faults")
def bench_faults(
    presses: Annotated[int, typer.Option(help="SOS presses per scenario")] = 200,
    outage: Annotated[float, typer.Option(help="database outage, seconds")] = 60.0,
    rate: Annotated[float, typer.Option(help="presses per second")] = 20.0,
    only: Annotated[
        list[str] | None, typer.Option(help="run only this scenario (repeatable), e.g. 'poison message'")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Broker restart, worker SIGKILL, database outage, full spool, clock skew, overload, client-id takeover, poison:
    lost/duplicates."""
    from eldercare import logs
    from eldercare.settings import get_settings
    from lab.bench.faults import run

    logs.configure(level="CRITICAL")
    run(get_settings(), presses, outage, rate, json_output, only)


@bench_app.command("history")
def bench_history(
    residents: Annotated[int, typer.Option(help="residents (homes)")] = 10_000,
    days: Annotated[int, typer.Option(help="days of history, ending today")] = 365,
    activity: Annotated[int, typer.Option(help="activity events per home and day")] = 40,
    status: Annotated[int, typer.Option(help="status reports per device and day")] = 2,
    batch: Annotated[int, typer.Option(help="events per append (one COPY)")] = 5000,
    queries: Annotated[int, typer.Option(help="timed runs of each read query")] = 200,
    seed: Annotated[int, typer.Option(help="seed of the synthetic history")] = 15,
    raw_days: Annotated[
        int | None, typer.Option(help="raw events kept (retention as days pass; 0: all) [default: the platform's]")
    ] = None,
    writers: Annotated[int, typer.Option(min=1, help="concurrent writers, each over its own residents")] = 2,
    database_url: DatabaseUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """A year of everyday history through the history writer: events/s, bytes per resident-year, read p95."""
    from eldercare import logs
    from eldercare.settings import get_settings
    from lab.bench.history import Workload, run

    logs.configure(level="ERROR")
    settings = get_settings()
    raw = settings.history_raw_days if raw_days is None else raw_days
    url = database_url or settings.database_url
    work = Workload(residents, days, activity, status, batch, queries, seed, raw, writers)
    run(url, work, json_output)


@app.command("sim")
def sim(
    homes: Annotated[int, typer.Option(help="simulated homes")] = 10,
    mqtt: Annotated[
        str | None,
        typer.Option(help="broker URL (default: the running platform's, else ELDERCARE_MQTT_URL, else :1883)"),
    ] = None,
    register: Annotated[
        bool | None,
        typer.Option(
            help="enter the homes in the registry (default: yes when a running platform is found; else needs"
            " ELDERCARE_DATABASE_URL)"
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the generated homes")] = 0,
    speed: Annotated[float, typer.Option(help="simulated seconds per real second (platform clock is real)")] = 1.0,
    start: Annotated[str | None, typer.Option(help="simulated start time, ISO (default now)")] = None,
    duration: Annotated[float, typer.Option(help="seconds to run (0: until Ctrl-C)")] = 0.0,
    wearables: Annotated[float, typer.Option(help="share of residents with a streaming pendant/wristband")] = 0.5,
    zigbee: Annotated[float, typer.Option(help="share of homes with Zigbee2MQTT sensors")] = 0.3,
    link: Annotated[str, typer.Option(help="hub | mixed | own: how devices connect")] = "mixed",
) -> None:
    """Simulated homes (residents with routines, their devices) publishing to a broker.

    Beside a running ``eldercare up`` (same data directory) it finds the platform's broker and
    registry by itself (``<data_dir>/run.json``), enters its homes and has the platform reload them.
    """
    import asyncio
    import os
    import signal

    from firmware_sim.fleet import HomeMix
    from firmware_sim.run import run_sim

    from eldercare import logs, runinfo
    from eldercare.settings import get_settings

    settings = get_settings()
    logs.configure(level="WARNING")
    running = runinfo.read(settings.data_dir)
    url = mqtt or (running.device_url if running else None) or settings.mqtt_url
    url = url or f"mqtt://127.0.0.1:{settings.embedded_mqtt_port}"
    database_url = (running.database_url if running else None) or settings.database_url
    if register is None:
        register = running is not None and mqtt is None
    if register and not database_url:
        raise typer.BadParameter("--register needs a running platform (eldercare up) or ELDERCARE_DATABASE_URL")
    prefix = running.topic_prefix if running else settings.topic_prefix
    z2m_base = running.zigbee2mqtt_base if running else settings.zigbee2mqtt_base
    if running is not None:
        typer.echo(f"sim: platform found (pid {running.pid}): broker {running.device_url}", err=True)
    elif not mqtt:
        typer.echo(f"sim: no running platform in {settings.data_dir}; publishing to {url} unregistered", err=True)

    async def registered() -> None:
        if running is not None and register:
            os.kill(running.pid, signal.SIGHUP)  # the platform re-reads its registry

    _broker_listens(url)
    mix = HomeMix(wearable_share=wearables, zigbee_share=zigbee, link=link)
    with contextlib.suppress(KeyboardInterrupt), _broker_answers(url):
        asyncio.run(
            run_sim(
                url,
                homes,
                seed=seed,
                speed=speed,
                start=start,
                duration_s=duration,
                mix=mix,
                prefix=prefix,
                z2m_base=z2m_base,
                register_url=database_url if register else None,
                on_registered=registered,
            )
        )


def _broker_listens(url: str, timeout_s: float = 3.0) -> None:
    """Fail at once, in one line, when nothing listens where the simulator would publish."""
    import socket

    from gateway import BrokerAddress

    address = BrokerAddress.parse(url)
    try:
        socket.create_connection((address.host, address.port), timeout=timeout_s).close()
    except OSError as error:
        raise SystemExit(
            f"eldercare sim: no MQTT broker at {address.host}:{address.port} ({error.strerror or error});"
            " is eldercare up running? else give --mqtt URL"
        ) from None


@contextlib.contextmanager
def _broker_answers(url: str) -> Iterator[None]:
    """The simulator's devices give up connecting after a while: say so in one line."""
    try:
        yield
    except TimeoutError:
        raise SystemExit(
            f"eldercare sim: no MQTT broker answered at {url} (is eldercare up running? else give --mqtt URL)"
        ) from None


@bench_app.command("load")
def bench_load(
    homes: Annotated[int, typer.Option(help="simulated homes")] = 1000,
    duration: Annotated[float, typer.Option(help="measured seconds (after warm-up)")] = 60.0,
    press_rate: Annotated[float, typer.Option(help="SOS presses per second during the run")] = 2.0,
    warmup: Annotated[float, typer.Option(help="seconds of load before measuring")] = 10.0,
    wearables: Annotated[float, typer.Option(help="share of residents streaming accelerometer data")] = 0.5,
    imu_hz: Annotated[float, typer.Option(help="wearables' sample rate (0: a mix of 25/50/100 Hz)")] = 0.0,
    bare: Annotated[int, typer.Option(help="messages for the bare-broker measurement (0: skip)")] = 100_000,
    site_broker: Annotated[
        bool,
        typer.Option(help="a private Mosquitto with deploy/mosquitto.conf's settings (else the configured broker)"),
    ] = True,
    json_output: JsonFlag = False,
) -> None:
    """Homes at city scale through the platform: msg/s, drops, alarm p50/p99, CPU and memory."""
    from firmware_sim.fleet import HomeMix

    from eldercare import logs
    from eldercare.settings import get_settings
    from lab.bench.load import run

    logs.configure(level="ERROR")
    mix = HomeMix(wearable_share=wearables, imu_hz=(imu_hz,) if imu_hz else (25.0, 50.0, 100.0))
    run(
        get_settings(),
        homes,
        duration,
        json_output,
        press_rate_hz=press_rate,
        warmup_s=warmup,
        mix=mix,
        bare_messages=bare,
        site_broker=site_broker,
    )


@bench_app.command("ingest")
def bench_ingest(
    homes: Annotated[int, typer.Option(help="everyday homes (no wearables)")] = 5000,
    messages: Annotated[
        int, typer.Option(help="everyday messages in the broker's backlog (1 % SOS presses)")
    ] = 200_000,
    wearable_homes: Annotated[int, typer.Option(help="homes with a wearable for the IMU backlog")] = 1000,
    imu_blocks: Annotated[int, typer.Option(help="one-second IMU blocks in the second backlog (0: skip)")] = 100_000,
    imu_hz: Annotated[float, typer.Option(help="the wearables' sample rate")] = 50.0,
    profile: Annotated[
        Path | None, typer.Option(help="a directory for py-spy's collapsed stacks of the platform (if installed)")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """A broker's backlog drained by one platform process beside a bare paho subscriber: msg/s, the
    share of the bare rate, CPU per message, every press stored; then a backlog of IMU blocks."""
    from eldercare import logs
    from eldercare.settings import get_settings
    from lab.bench.ingest import run

    logs.configure(level="ERROR")
    run(
        get_settings(),
        json_output,
        homes=homes,
        messages=messages,
        wearable_homes=wearable_homes,
        imu_blocks=imu_blocks,
        imu_hz=imu_hz,
        profile=profile,
    )


@bench_app.command("codec")
def bench_codec(
    events: Annotated[int, typer.Option(help="events per mix")] = 20_000,
    per_frame: Annotated[int, typer.Option(help="events per log message (one partition of one batch)")] = 64,
    json_output: JsonFlag = False,
) -> None:
    """Encoding events for the partitioned log and decoding them: µs and bytes per event."""
    from lab.bench.codec import run

    run(json_output=json_output, events=events, per_frame=per_frame)


@bench_app.command("scaling")
def bench_scaling(
    homes: Annotated[int, typer.Option(help="everyday homes (no wearables)")] = 3000,
    wearable_homes: Annotated[int, typer.Option(help="homes with a wearable, joining for the last windows")] = 300,
    imu_hz: Annotated[float, typer.Option(help="the wearables' sample rate (one-second blocks)")] = 50.0,
    workers: Annotated[int, typer.Option(help="measure 1 … N workers")] = 2,
    duration: Annotated[
        float | None, typer.Option(help="measured seconds per window (default 45; --sweep: per point, default 60)")
    ] = None,
    press_rate: Annotated[float, typer.Option(help="SOS presses per second in the alarm window")] = 1.0,
    residents: Annotated[int, typer.Option(help="capacity table: residents of the city")] = 390_000,
    wearable_share: Annotated[float, typer.Option(help="capacity table: share of residents with a wearable")] = 0.1,
    headroom: Annotated[float, typer.Option(help="capacity table: CPU share a process may use")] = 0.5,
    machine_cores: Annotated[int, typer.Option(help="capacity table: cores per machine")] = 16,
    mqtt_url: Annotated[str | None, typer.Option(help="a broker to use (default: a private Mosquitto)")] = None,
    sweep: Annotated[
        str | None, typer.Option(help="instead: the one-process `bench load` at these home counts, e.g. 250,1000")
    ] = None,
    sweep_wearables: Annotated[float, typer.Option(help="--sweep: share of residents with a wearable")] = 0.5,
    out: Annotated[Path, typer.Option(help="directory for scaling.md (and the sweep's csv and png)")] = Path(
        "bench-results"
    ),
    database_url: DatabaseUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """The partitioned deployment on real processes (nats-server, Mosquitto, ingest, API, 1 then 2
    workers): msg/s and CPU per worker and per process, alarm latency and losses, the capacity table."""
    from firmware_sim.fleet import HomeMix

    from eldercare import logs
    from eldercare.settings import get_settings

    logs.configure(level="ERROR")
    settings = get_settings()
    if sweep is not None:
        from lab.bench.scaling import run as run_sweep

        counts = [int(n) for n in sweep.split(",") if n.strip()]
        mix = HomeMix(wearable_share=sweep_wearables)
        run_sweep(settings, counts, duration or 60.0, out, json_output, mix=mix)
        return
    from lab.bench.capacity import CityLoad
    from lab.bench.partitioned import ScalingConfig, run

    city = CityLoad(residents=residents, wearable_share=wearable_share, headroom=headroom, machine_cores=machine_cores)
    seconds = duration or 45.0
    settle = min(10.0, seconds)  # a short run (the test's) settles for as long as it measures
    config = ScalingConfig(
        homes, wearable_homes, imu_hz, workers, seconds, settle, settle, press_rate_hz=press_rate, city=city
    )
    command = " ".join(["eldercare", *sys.argv[1:]]) if sys.argv[1:2] == ["bench"] else "eldercare bench scaling"
    run(settings, config, out, json_output, database_url=database_url, mqtt_url=mqtt_url, command=command)


def one_line(error: BaseException) -> str | None:
    """A user's mistake (a wrong URL, a missing file, a port in use, a server not there) in one line;
    None for anything else (a bug, whose traceback is wanted)."""
    import errno

    import psycopg

    from eldercare.embedded import EmbeddedError

    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return f"address in use: {error.strerror or error}; another eldercare running? (set another port)"
    if isinstance(error, FileNotFoundError | NotADirectoryError | PermissionError):
        return f"{error.strerror or error}: {error.filename}" if error.filename else str(error)
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused: {error}"
    if isinstance(error, psycopg.OperationalError):
        first = (str(error).strip().splitlines() or ["?"])[0]
        return f"cannot reach the database: {first} (check ELDERCARE_DATABASE_URL)"
    if isinstance(error, EmbeddedError):
        return (str(error).strip().splitlines() or ["embedded service failed"])[0]
    if isinstance(error, ValueError) and ("URL" in str(error) or "url" in str(error)):
        return str(error).splitlines()[0]
    return None


def main() -> None:
    """The console entry point: a user's mistake prints one line (``ELDERCARE_TRACEBACK=1``: the trace)."""
    import os

    try:
        app()
    except Exception as error:
        message = one_line(error)
        if message is None or os.environ.get("ELDERCARE_TRACEBACK"):
            raise
        print(f"eldercare: error: {message}", file=sys.stderr)
        raise SystemExit(2) from None


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


def _cluster_urls() -> tuple[Settings, str, str, str]:
    from eldercare import logs
    from eldercare.settings import get_settings

    settings = get_settings()
    logs.configure(as_json=settings.log_json)
    missing = [
        name
        for name, value in (
            ("ELDERCARE_DATABASE_URL", settings.database_url),
            ("ELDERCARE_MQTT_URL", settings.mqtt_url),
            ("ELDERCARE_NATS_URL", settings.nats_url),
        )
        if not value
    ]
    if missing:
        raise typer.BadParameter(f"a partitioned deployment needs {', '.join(missing)} (see deploy/README.md)")
    return settings, settings.database_url or "", settings.mqtt_url or "", settings.nats_url or ""


@app.command()
def worker() -> None:
    """A stream worker: owns resident partitions of the log by lease (README: Scale-out)."""
    from eldercare.cluster import run_worker, until_terminated

    settings, database_url, mqtt_url, nats_url = _cluster_urls()
    until_terminated(run_worker(settings, database_url, mqtt_url, nats_url))


@app.command()
def ingest() -> None:
    """An ingest process: MQTT in, each batch stored in its residents' partitions of the log."""
    from eldercare.cluster import run_ingest, until_terminated
    from eldercare.serve import gateway_config

    settings, database_url, mqtt_url, nats_url = _cluster_urls()
    until_terminated(run_ingest(settings, database_url, mqtt_url, nats_url, gateway_config(settings)))


@app.command()
def api() -> None:
    """An API instance: REST and the live console of a partitioned deployment (no gateway, no stream)."""
    from eldercare.cluster import run_api, until_terminated

    settings, database_url, mqtt_url, nats_url = _cluster_urls()
    until_terminated(run_api(settings, database_url, mqtt_url, nats_url))
