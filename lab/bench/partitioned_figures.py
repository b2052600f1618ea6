"""The figures of ``eldercare bench scaling`` from what it measured: per window, per role, per press.

Every rate is counted from outside the platform: CPU seconds of each process between two marks,
events from the log read back (:class:`lab.bench.logbook.LogIndex`), presses from the homes' process,
the console websocket and the database. A process's idle CPU (the idle window's rate; for the
workers together, that of one worker owning all 64 partitions) is subtracted first, then:

- **everyday**: one worker carries half the everyday homes, then all of them; the difference is the
  cost per resident (their messages, their state in the stream cores, the registry), what is left at
  half is the part that does not grow with residents (the 64 partitions' ticks, reads and snapshots);
- **IMU block**: what the wearables window cost beyond the same workers' everyday window and the
  wearable homes' own everyday share, per block;
- **alarm**: what the alarm window cost beyond the wearables window, per press.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lab.bench.capacity import CityLoad, RoleCost, markdown, plan
from lab.bench.logbook import LogIndex, Progress, partitions_of
from lab.report import percentiles_ms
from partitions.keys import PARTITIONS

WORKER_ROLE = "workers (stream, alerts, history)"
KINDS = ("half", "everyday", "worn", "alarm")


@dataclass(frozen=True, slots=True)
class Mark:
    t: float
    wall: float
    cpu: dict[str, float]
    pg: dict[int, float]
    progress: Progress
    stats: dict[str, Any]
    console_events: int


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    kind: str
    """``idle``, ``half`` (half the everyday homes), ``everyday``, ``worn`` (+ wearables), ``alarm``
    (+ SOS presses)."""
    workers: tuple[str, ...]
    residents: int
    """Homes publishing (everyday homes, and the wearable homes once they joined)."""
    start: Mark
    end: Mark

    @property
    def span(self) -> float:
        return max(1e-9, self.end.t - self.start.t)

    @property
    def owners_changed(self) -> bool:
        """A partition changed owner between the start and the end (a lease lost on a starved machine)."""
        start, end = self.start.progress.owners, self.end.progress.owners
        return any(start[p] != end[p] for p in start.keys() & end.keys())

    def partitions(self, worker: str) -> list[int]:
        """The worker's partitions during the window (shared out before it started; a lease key the
        observer could not read at the start is taken from the end)."""
        return partitions_of({**self.end.progress.owners, **self.start.progress.owners}, worker)

    def cpu(self, name: str) -> float:
        return self.end.cpu.get(name, 0.0) - self.start.cpu.get(name, 0.0)

    def pg_cpu(self) -> float:
        return sum(cpu - self.start.pg.get(pid, 0.0) for pid, cpu in self.end.pg.items())

    def published(self) -> int:
        """MQTT messages the homes published in the window."""
        keys = ("everyday", "wearable")
        return sum(int(self.end.stats.get(k, 0)) - int(self.start.stats.get(k, 0)) for k in keys)

    def describe(self) -> str:
        frames = self.end.progress.last_seq - self.start.progress.last_seq
        return (
            f"{self.published() / self.span:.0f} msg/s published, {frames / self.span:.0f} log frames/s,"
            f" readers {self.end.progress.pending} frames behind at the end"
        )


@dataclass(frozen=True, slots=True)
class Measured:
    idle: Window
    windows: Sequence[Window]
    history: dict[str, Any]
    index: LogIndex
    presses: Mapping[str, float]
    heard: Mapping[str, float]
    stored: Mapping[str, tuple[float, str]]
    snapshot_bytes: int = 0
    """The partitions' snapshots in the object store after the workers stopped."""


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


def _us(cpu_s: float, events: int) -> float | None:
    return cpu_s / events * 1e6 if events > 0 else None


class Costs:
    """Idle rates and the measured costs of each process (or the workers together)."""

    def __init__(self, measured: Measured) -> None:
        self.m = measured
        idle = measured.idle
        self.idle_rate = {name: idle.cpu(name) / idle.span for name in idle.end.cpu}
        self.idle_rate["postgres"] = idle.pg_cpu() / idle.span
        self.worker_idle = self.idle_rate.get(idle.workers[0], 0.0)
        """Idle CPU (cores) of the workers together: one worker owning all 64 partitions."""
        self.kinds = {kind: [w for w in measured.windows if w.kind == kind] for kind in KINDS}

    def logged(self, w: Window) -> tuple[int, int]:
        return self.m.index.between(w.start.progress.last_seq, w.end.progress.last_seq)

    def applied(self, w: Window, worker: str) -> tuple[int, int]:
        return self.m.index.applied(w.start.progress.floors, w.end.progress.floors, w.partitions(worker))

    def presses(self, w: Window) -> int:
        return sum(1 for t in self.m.presses.values() if w.start.wall <= t < w.end.wall)

    def busy(self, w: Window, name: str) -> float:
        """CPU seconds beyond idle of a process (``workers``: all workers; ``postgres``: the backends)."""
        if name == "workers":
            return sum(w.cpu(n) for n in w.workers) - self.worker_idle * w.span
        cpu = w.pg_cpu() if name == "postgres" else w.cpu(name)
        return cpu - self.idle_rate.get(name, 0.0) * w.span

    def events(self, w: Window, name: str) -> tuple[int, int]:
        if name == "workers":
            pairs = [self.applied(w, n) for n in w.workers]
            return sum(e for e, _ in pairs), sum(i for _, i in pairs)
        return self.logged(w)

    def everyday_rate(self) -> float:
        """Everyday messages (log events) per resident-minute in the everyday windows."""
        plain = self.kinds["half"] + self.kinds["everyday"]
        resident_s = sum(w.span * w.residents for w in plain)
        return sum(self.logged(w)[0] for w in plain) / resident_s * 60 if resident_s else 0.0

    def rate(self, w: Window, name: str) -> float:
        """Cores beyond idle."""
        return self.busy(w, name) / w.span

    def split(self, name: str) -> dict[str, float | None]:
        """Cores that do not grow with residents, µs per resident-second (and per everyday event, for
        reading), per IMU block and per alarm; None where the run had no window to tell."""
        out: dict[str, float | None] = dict.fromkeys(("fixed", "resident", "everyday", "imu", "imu_gross", "alarm"))
        everyday = self.kinds["everyday"]
        if not everyday:
            return out
        full = everyday[0]
        half = next((w for w in self.kinds["half"] if w.workers == full.workers), None)
        if half is not None and full.residents > half.residents:
            per_resident = (self.rate(full, name) - self.rate(half, name)) / (full.residents - half.residents)
            fixed = self.rate(half, name) - per_resident * half.residents
        else:
            per_resident, fixed = self.rate(full, name) / max(1, full.residents), 0.0
        events_per_resident_s = self.everyday_rate() / 60.0
        out.update(
            fixed=fixed,
            resident=per_resident * 1e6,
            everyday=per_resident / events_per_resident_s * 1e6 if events_per_resident_s else None,
        )
        base, base_rate = everyday[-1], self.rate(everyday[-1], name)
        imu_s = 0.0
        for worn in self.kinds["worn"][:1]:
            blocks = self.events(worn, name)[1]
            expected = (base_rate + per_resident * (worn.residents - base.residents)) * worn.span
            imu_s = (self.busy(worn, name) - expected) / blocks if blocks else 0.0
            out["imu"] = imu_s * 1e6 if blocks else None
            out["imu_gross"] = _us(self.busy(worn, name), sum(self.events(worn, name)))
            base, base_rate = worn, self.rate(worn, name)
        for alarm in self.kinds["alarm"][:1]:
            extra_blocks = self.events(alarm, name)[1] - self.events(base, name)[1] / base.span * alarm.span
            rest = self.busy(alarm, name) - base_rate * alarm.span - imu_s * extra_blocks
            out["alarm"] = _us(rest, self.presses(alarm))
        return out

    def history_alone(self) -> tuple[float | None, float | None, dict[str, Any]]:
        """(writer µs/everyday event, writer µs/IMU block, figures with PostgreSQL's share too)."""
        samples = self.m.history.get("samples") or []
        index = self.m.index
        if len(samples) < 2:
            return None, None, {}
        started = [s for s in samples if s[2] == 0] or samples[:1]
        base_t, base_cpu, _, base_pg = started[-1]
        end_t, end_cpu, last, end_pg = samples[-1]
        worn = [seq for seq in range(1, len(index.imu)) if index.imu[seq] > 0]
        cut = worn[0] - 1 if worn else last
        at_cut = next((s for s in samples if s[2] >= cut), samples[-1])
        e_a, _ = index.between(0, cut)
        e_b, i_b = index.between(cut, last)
        results: list[float | None] = []
        for base, at, end in ((base_cpu, at_cut[1], end_cpu), (base_pg, at_cut[3], end_pg)):
            per_everyday = _us(at - base, e_a)
            rest = end - at - (per_everyday or 0.0) * 1e-6 * e_b
            results += [per_everyday, _us(max(0.0, rest), i_b) if worn else None]
        events = e_a + e_b + i_b
        figures = {
            "events": events,
            "seconds": _r(end_t - base_t),
            "events_per_s": _r(events / max(1e-9, end_t - base_t)),
            "cpu_s": _r(end_cpu - base_cpu, 2),
            "us_per_everyday_event": _r(results[0]),
            "us_per_imu_block": _r(results[1]),
            "postgres_us_per_everyday_event": _r(results[2]),
            "postgres_us_per_imu_block": _r(results[3]),
        }
        return results[0], results[1], figures


def window_figures(costs: Costs, w: Window) -> dict[str, Any]:
    e, i = costs.logged(w)
    workers: dict[str, Any] = {}
    for name in w.workers:
        we, wi = costs.applied(w, name)
        owned = len(w.partitions(name))
        cpu = w.cpu(name)
        marginal = cpu - costs.worker_idle * owned / PARTITIONS * w.span
        us = _us(marginal, we + wi)
        workers[name] = {
            "partitions": owned,
            "events_per_s": _r((we + wi) / w.span),
            "imu_per_s": _r(wi / w.span),
            "cpu_pct": _r(100 * cpu / w.span),
            "us_per_event": _r(_us(cpu, we + wi)),
            "marginal_us_per_event": _r(us),
            "events_per_s_per_core": _r(1e6 / us, 0) if us else None,
        }
    processes: dict[str, Any] = {}
    for name in sorted(w.end.cpu):
        if name in w.workers or name not in w.start.cpu:
            continue
        cpu = w.cpu(name)
        processes[name] = {"cpu_pct": _r(100 * cpu / w.span), "us_per_event": _r(_us(cpu, e + i))}
    processes["postgres"] = {"cpu_pct": _r(100 * w.pg_cpu() / w.span), "us_per_event": _r(_us(w.pg_cpu(), e + i))}
    console = w.end.console_events - w.start.console_events
    if "api" in processes:
        processes["api"]["console_events"] = console
    published = w.published()
    m = costs.m
    pressed = [d for d, t in m.presses.items() if w.start.wall <= t < w.end.wall]
    return {
        "name": w.name,
        "workers": len(w.workers),
        "kind": w.kind,
        "residents": w.residents,
        "duration_s": _r(w.span),
        "published_msg_per_s": _r(published / w.span),
        "events_per_s": _r((e + i) / w.span),
        "imu_per_s": _r(i / w.span),
        "events_per_message": _r((e + i) / published, 3) if published else None,
        "readers_behind_at_end": w.end.progress.pending,
        "owners_changed": w.owners_changed,
        "per_worker": workers,
        "processes": processes,
        "presses": len(pressed),
        "to_stored": percentiles_ms([m.stored[d][0] - m.presses[d] for d in pressed if d in m.stored]),
        "to_console": percentiles_ms([m.heard[d] - m.presses[d] for d in pressed if d in m.heard]),
    }


def snapshot_figures(m: Measured, setup: dict[str, Any], city: CityLoad) -> dict[str, Any]:
    """How big the stream state is per resident, and what snapshotting a city's every few seconds writes."""
    residents = setup["everyday_homes"] + setup["wearable_homes"]
    per_resident = m.snapshot_bytes / max(1, residents)
    every = float(setup.get("snapshot_every_s") or 5.0)
    return {
        "bytes": m.snapshot_bytes,
        "bytes_per_resident": _r(per_resident),
        "city_mb_per_s": _r(per_resident * city.residents / every / 1e6, 2),
        "every_s": every,
    }


def alarm_figures(m: Measured) -> dict[str, Any]:
    presses = m.presses
    stored = {d: m.stored[d] for d in presses if d in m.stored}
    heard = {d: m.heard[d] for d in presses if d in m.heard}
    fates = Counter(kind for _, kind in stored.values() if kind != "sos")
    return {
        "presses": len(presses),
        "stored": len(stored),
        "lost": len(presses) - len(stored),
        "on_console": len(heard),
        "stored_as_other_alert": dict(fates),
        "to_stored": percentiles_ms([stored[d][0] - presses[d] for d in stored]),
        "to_console": percentiles_ms([heard[d] - presses[d] for d in heard]),
    }


def role_costs(costs: Costs, history: tuple[float | None, float | None]) -> tuple[list[RoleCost], list[RoleCost]]:
    """The roles of the capacity table from the measured costs (not measured: left out), and the same
    with each IMU block charged at least its window's gross CPU per event (beyond idle): an upper bound
    where the marginal cost is lost in the noise of a shared machine."""
    idle = costs.idle_rate
    rate = costs.everyday_rate()
    roles: list[RoleCost] = []
    upper: list[RoleCost] = []

    def add(role: str, name: str, idle_cores: float, **extra: Any) -> None:
        c = {k: max(0.0, v or 0.0) for k, v in costs.split(name).items()}  # noise below zero: nothing
        if costs.kinds["everyday"]:
            cost = RoleCost(
                role, c["resident"], rate, c["imu"], c["alarm"], idle_cores, fixed_cores=c["fixed"], **extra
            )
            roles.append(cost)
            upper.append(replace(cost, imu_us=max(c["imu"], c["imu_gross"])))

    if "mosquitto" in idle:
        add("MQTT broker (Mosquitto)", "mosquitto", idle["mosquitto"])
    add("ingest", "ingest", idle.get("ingest", 0.0))
    add("nats-server (JetStream, 3 nodes at R3)", "nats-server", idle.get("nats-server", 0.0), threaded=True, nodes=3)
    add(WORKER_ROLE, "workers", costs.worker_idle, max_processes=PARTITIONS)
    if history[0] is not None:
        per_resident = history[0] * rate / 60.0
        writer = RoleCost("history writer", per_resident, rate, history[1] or 0.0, included_in="the workers")
        roles.append(writer)
        upper.append(writer)
    add("API instances (console)", "api", idle.get("api", 0.0), min_processes=2)  # two behind one URL
    add("PostgreSQL", "postgres", idle.get("postgres", 0.0), threaded=True)
    return roles, upper


def report(measured: Measured, setup: dict[str, Any], city: CityLoad, out: Path, command: str) -> dict[str, Any]:
    costs = Costs(measured)
    writer_e, writer_i, history = costs.history_alone()
    roles, upper_roles = role_costs(costs, (writer_e, writer_i))
    capacity, upper = plan(city, roles), plan(city, upper_roles)
    figures: dict[str, Any] = {
        "benchmark": "scaling",
        "setup": {**setup, "everyday_events_per_home_min": _r(costs.everyday_rate(), 2)},
        "idle_cores": {name: _r(rate, 4) for name, rate in costs.idle_rate.items()},
        "windows": [window_figures(costs, w) for w in measured.windows],
        "history_alone": history,
        "snapshots": snapshot_figures(measured, setup, city),
        "alarm": alarm_figures(measured),
        "costs_us": {
            r.role: {
                "fixed_cores": _r(r.fixed_cores, 4),
                "resident_s": _r(r.resident_us, 3),
                "everyday": _r(r.everyday_us),
                "imu": _r(r.imu_us),
                "alarm": _r(r.alarm_us),
                "idle_cores": _r(r.idle_cores, 4),
            }
            for r in roles
        },
        "capacity": capacity.figures(),
        "capacity_imu_at_gross_cost": upper.figures(),
        "command": command,
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / "scaling.md"
    path.write_text(windows_markdown(figures) + "\n" + markdown(capacity, roles, command, upper=(upper, upper_roles)))
    figures["files"] = {"scaling.md": str(path)}
    return figures


def windows_markdown(figures: dict[str, Any]) -> str:
    lines = [
        "| window | published msg/s | log events/s | IMU blocks/s | worker | partitions | events/s | CPU % |"
        " µs/event | µs/event beyond idle | events/s per core |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for w in figures["windows"]:
        for name, v in w["per_worker"].items():
            lines.append(
                f"| {w['name']} | {w['published_msg_per_s']} | {w['events_per_s']} | {w['imu_per_s']} | {name}"
                f" | {v['partitions']} | {v['events_per_s']} | {v['cpu_pct']} | {v['us_per_event']}"
                f" | {v['marginal_us_per_event']} | {v['events_per_s_per_core']} |"
            )
    lines += [
        "",
        "| window | presses | press → stored p50 / p99 ms | press → console p50 / p99 ms |",
        "|---|---:|---:|---:|",
        *(
            f"| {w['name']} | {w['presses']} | {w['to_stored']['p50_ms']} / {w['to_stored']['p99_ms']}"
            f" | {w['to_console']['p50_ms']} / {w['to_console']['p99_ms']} |"
            for w in figures["windows"]
            if w["presses"]
        ),
    ]
    a = figures["alarm"]
    lines += [
        "",
        f"Whole run (worker joins included): presses {a['presses']}, stored {a['stored']}, lost **{a['lost']}**,"
        f" on the console {a['on_console']}; press → stored p50/p99 {a['to_stored']['p50_ms']} /"
        f" {a['to_stored']['p99_ms']} ms, press → console p50/p99 {a['to_console']['p50_ms']} /"
        f" {a['to_console']['p99_ms']} ms.",
        "",
    ]
    return "\n".join(lines)


def summary_rows(figures: dict[str, Any]) -> list[tuple[str, Any]]:
    """The lines ``eldercare bench scaling`` prints."""
    s, a, h = figures["setup"], figures["alarm"], figures["history_alone"]
    rows: list[tuple[str, Any]] = [
        ("homes (everyday + wearable) / devices", f"{s['everyday_homes']} + {s['wearable_homes']} / {s['devices']}"),
        ("broker / log", f"{s['broker']} / {s['log']}"),
        ("everyday events per home-minute", s["everyday_events_per_home_min"]),
        ("machine", f"{s['cpu_cores']} cores, load avg {s['load_avg_1m']} (shared)"),
    ]
    for w in figures["windows"]:
        rows.append(
            (
                w["name"],
                f"{w['published_msg_per_s']} msg/s published → {w['events_per_s']} events/s in the log"
                f" ({w['imu_per_s']} IMU), readers {w['readers_behind_at_end']} frames behind at the end;"
                f" {w['presses']} presses → stored p50/p99 {w['to_stored']['p50_ms']} / {w['to_stored']['p99_ms']} ms,"
                f" → console {w['to_console']['p50_ms']} / {w['to_console']['p99_ms']} ms",
            )
        )
        for name, v in w["per_worker"].items():
            rows.append(
                (
                    f"  {name}",
                    f"{v['partitions']} partitions, {v['events_per_s']} events/s, CPU {v['cpu_pct']} %,"
                    f" {v['us_per_event']} µs/event ({v['marginal_us_per_event']} beyond idle"
                    f" → {v['events_per_s_per_core']} events/s per core)",
                )
            )
        others = ", ".join(
            f"{name} {v['cpu_pct']} % ({v['us_per_event']} µs/event)" for name, v in w["processes"].items()
        )
        rows.append(("  others", others))
    rows.append(
        (
            "alarms: pressed / stored / lost / on console",
            f"{a['presses']} / {a['stored']} / {a['lost']} / {a['on_console']}",
        )
    )
    for key, label in (("to_stored", "press → stored"), ("to_console", "press → console")):
        rows.append((f"{label} p50/p99/max", f"{a[key]['p50_ms']} / {a[key]['p99_ms']} / {a[key]['max_ms']} ms"))
    if h:
        rows.append(
            (
                "history writer alone",
                f"{h['events']} events in {h['seconds']} s ({h['events_per_s']}/s): {h['us_per_everyday_event']}"
                f" µs/everyday event, {h['us_per_imu_block']} µs/IMU block",
            )
        )
    for role, c in figures["costs_us"].items():
        rows.append(
            (
                f"cost: {role}",
                f"{c['fixed_cores']} cores fixed + {c['resident_s']} µs/resident-s (= {c['everyday']} µs/everyday"
                f" msg), {c['imu']} µs/IMU block,"
                f" {c['alarm']} µs/alarm, idle {c['idle_cores']} cores",
            )
        )
    cap = figures["capacity"]
    for r in cap["roles"]:
        rows.append(
            (f"capacity: {r['role']}", f"{r['cores']} cores, {r['processes']} × {r['nodes']}  {r['note']}".rstrip())
        )
    rows.append(
        (
            f"capacity: {cap['assumptions']['residents']:,} residents",
            f"platform {cap['platform_cores']} cores = {cap['platform_machines']} machines"
            f" of {cap['assumptions']['machine_cores']} cores; PostgreSQL {cap['database_cores']} cores"
            f" = {cap['database_machines']} machine(s)",
        )
    )
    up = figures["capacity_imu_at_gross_cost"]
    rows.append(
        (
            "capacity, IMU at gross cost",
            f"platform {up['platform_cores']} cores = {up['platform_machines']} machines;"
            f" PostgreSQL {up['database_cores']} cores",
        )
    )
    snap = figures["snapshots"]
    rows.append(
        (
            "partition snapshots",
            f"{snap['bytes_per_resident']} bytes per resident; the city's every {snap['every_s']:g} s:"
            f" {snap['city_mb_per_s']} MB/s into the object store (× replicas)",
        )
    )
    rows.append(("written", ", ".join(figures["files"].values())))
    return rows
