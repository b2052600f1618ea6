"""Capacity on paper: measured CPU per resident and per message → cores, processes and machines.

The load of a city (:class:`CityLoad`) is its residents with their **everyday** devices (motion,
doors, pads, vitals, status: about one message per resident-minute), the **IMU blocks** of the
wristbands and pendants being worn (one per second each) and the **alarms**. Each role of a
partitioned deployment (:class:`RoleCost`) has a measured cost for each:

- fixed: CPU that does not grow with the residents (the 64 partitions' timers, reads and snapshots);
- everyday: CPU per resident, measured at the bench homes' own message rate; it holds the work
  proportional to the residents and not to their messages (their state in the stream cores, the
  registry). When the city's rate per resident is at most the bench's, charging the bench's cost per
  resident is an upper bound; above it, the cost is scaled up with the rate;
- CPU µs per IMU block and per alarm, beyond everything else (measured as the difference of two
  windows with the same homes);
- what one of its processes spends idle.

A role's CPU at the city's load, divided by the headroom (a process is planned to run at most at
``headroom`` of its CPU), is the cores it needs:

    cores(role) = (fixed + residents · everyday + blocks/s · µs_imu + alarms/s · µs_alarm) / headroom
                  + processes · idle / headroom

Single-threaded roles (a Python process, Mosquitto's event loop) get one core per process, so their
process count is those cores rounded up; nats-server and PostgreSQL use threads/processes of their
own and are sized in cores per node.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CityLoad:
    """What the city sends at its busiest hour, and how much of a core a process may use."""

    residents: int = 390_000
    everyday_per_resident_min: float = 1.0
    wearable_share: float = 0.10
    """Residents with a wristband or pendant that streams one-second IMU blocks while worn."""
    worn_share: float = 1.0
    """Of those, the share wearing it at the busiest hour (1: all of them, the sizing case)."""
    alarms_per_s: float = 0.5
    """SOS presses and other alerts at the busiest hour across the city (0.5/s ≈ 43,000 a day)."""
    headroom: float = 0.5
    machine_cores: int = 16

    @property
    def everyday_per_s(self) -> float:
        return self.residents * self.everyday_per_resident_min / 60.0

    @property
    def imu_per_s(self) -> float:
        return self.residents * self.wearable_share * self.worn_share


@dataclass(frozen=True, slots=True)
class RoleCost:
    """Measured cost of one role of the deployment."""

    role: str
    resident_us: float
    """CPU µs per resident per second with everyday traffic at ``everyday_per_resident_min``."""
    everyday_per_resident_min: float
    """The messages per resident-minute ``resident_us`` was measured at."""
    imu_us: float
    """CPU µs per IMU block."""
    alarm_us: float = 0.0
    """CPU µs per alarm (storing it, its timers, the downlink, the console)."""
    idle_cores: float = 0.0
    """CPU of one idle process, in cores."""
    fixed_cores: float = 0.0
    """CPU beyond idle that does not grow with residents (the 64 partitions' ticks, reads, snapshots)."""
    threaded: bool = False
    """Sized in cores per node (nats-server, PostgreSQL) instead of single-threaded processes."""
    nodes: int = 1
    """Copies that each carry the whole load (nats-server at R3: 3 nodes each store every message)."""
    min_processes: int = 1
    max_processes: int | None = None
    included_in: str | None = None
    """A part of another role's processes (shown for its share, not added to the totals)."""

    @property
    def everyday_us(self) -> float:
        """The same as CPU µs per everyday message at the measured rate (for reading, not planning)."""
        per_s = self.everyday_per_resident_min / 60.0
        return self.resident_us / per_s if per_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class RolePlan:
    role: str
    load_cores: float
    """CPU the load costs, in cores (before headroom)."""
    cores: float
    """Cores to provide (after headroom, idle included), per node for threaded roles."""
    processes: int
    nodes: int
    note: str = ""

    @property
    def total_cores(self) -> float:
        return self.cores * self.nodes


def plan_role(load: CityLoad, cost: RoleCost) -> RolePlan:
    measured = cost.everyday_per_resident_min
    rate = max(1.0, load.everyday_per_resident_min / measured) if measured > 0 else 1.0
    busy = (
        cost.fixed_cores
        + (load.residents * cost.resident_us * rate + load.imu_per_s * cost.imu_us + load.alarms_per_s * cost.alarm_us)
        / 1e6
    )
    if cost.threaded:
        cores = (busy + cost.idle_cores) / load.headroom
        return RolePlan(cost.role, busy, cores, cost.nodes, cost.nodes, _note(cost))
    processes = cost.min_processes
    while (busy + processes * cost.idle_cores) / load.headroom > processes:  # one core per process
        processes += 1
    cores = (busy + processes * cost.idle_cores) / load.headroom
    note = _note(cost)
    if cost.max_processes is not None and processes > cost.max_processes:
        note = f"more than {cost.max_processes} processes: beyond what the partitions allow" + (
            f"; {note}" if note else ""
        )
    return RolePlan(cost.role, busy, cores, processes, 1, note)


def _note(cost: RoleCost) -> str:
    return f"inside {cost.included_in}: not added again" if cost.included_in else ""


@dataclass(frozen=True, slots=True)
class CapacityPlan:
    load: CityLoad
    roles: tuple[RolePlan, ...]
    database_roles: tuple[str, ...] = ("PostgreSQL",)

    def counted(self) -> list[RolePlan]:
        return [r for r in self.roles if not r.note.startswith("inside")]

    @property
    def platform_cores(self) -> float:
        return sum(r.total_cores for r in self.counted() if r.role not in self.database_roles)

    @property
    def database_cores(self) -> float:
        return sum(r.total_cores for r in self.counted() if r.role in self.database_roles)

    @property
    def platform_machines(self) -> int:
        """Machines of ``machine_cores`` for everything but the database (at least the 3 NATS nodes)."""
        return max(3, math.ceil(self.platform_cores / self.load.machine_cores))

    @property
    def database_machines(self) -> int:
        return max(1, math.ceil(self.database_cores / self.load.machine_cores))

    def figures(self) -> dict[str, Any]:
        return {
            "assumptions": {
                **asdict(self.load),
                "everyday_per_s": round(self.load.everyday_per_s),
                "imu_per_s": round(self.load.imu_per_s),
            },
            "roles": [
                {
                    "role": r.role,
                    "load_cores": round(r.load_cores, 2),
                    "cores": round(r.total_cores, 1),
                    "processes": r.processes,
                    "nodes": r.nodes,
                    "note": r.note,
                }
                for r in self.roles
            ],
            "platform_cores": round(self.platform_cores, 1),
            "database_cores": round(self.database_cores, 1),
            "platform_machines": self.platform_machines,
            "database_machines": self.database_machines,
        }


def plan(load: CityLoad, costs: Sequence[RoleCost]) -> CapacityPlan:
    return CapacityPlan(load, tuple(plan_role(load, c) for c in costs))


def markdown(
    capacity: CapacityPlan,
    costs: Sequence[RoleCost],
    command: str,
    *,
    upper: tuple[CapacityPlan, Sequence[RoleCost]] | None = None,
) -> str:
    """The capacity table as markdown (what the bench writes and ``deploy/CAPACITY.md`` quotes);
    ``upper``: the same plan with other IMU costs, shown in two more columns."""
    load = capacity.load
    by_role = {c.role: c for c in costs}
    upper_plan = {r.role: r for r in upper[0].roles} if upper else {}
    upper_cost = {c.role: c for c in upper[1]} if upper else {}
    lines = [
        f"City: {load.residents:,} residents; everyday {load.everyday_per_resident_min:g} message per"
        f" resident-minute = {load.everyday_per_s:,.0f} msg/s; wearables {load.wearable_share:.0%} of residents,"
        f" {load.worn_share:.0%} of them worn at once, one IMU block per second = {load.imu_per_s:,.0f} blocks/s;"
        f" alarms {load.alarms_per_s:g}/s; every process at ≤ {load.headroom:.0%} CPU;"
        f" machines of {load.machine_cores} cores.",
        "",
        "| role | fixed (cores) | µs CPU / resident-s (= µs / everyday msg) | µs CPU / IMU block | µs CPU / alarm |"
        " idle (cores / process) | load (cores) | cores to provide | processes × nodes | note |"
        + (" IMU block at gross µs | cores then |" if upper else ""),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|" + ("---:|---:|" if upper else ""),
    ]
    for r in capacity.roles:
        c = by_role[r.role]
        lines.append(
            f"| {r.role} | {c.fixed_cores:.3f} | {c.resident_us:.2f} (= {c.everyday_us:.0f}) | {c.imu_us:.0f}"
            f" | {c.alarm_us:.0f} | {c.idle_cores:.3f} | {r.load_cores:.2f} | {r.total_cores:.1f}"
            f" | {r.processes} × {r.nodes} | {r.note} |"
            + (f" {upper_cost[r.role].imu_us:.0f} | {upper_plan[r.role].total_cores:.1f} |" if upper else "")
        )
    lines += [
        "",
        f"Platform (broker, ingest, NATS, workers, API): **{capacity.platform_cores:.0f} cores ="
        f" {capacity.platform_machines} machines** of {load.machine_cores} cores (at least 3: the NATS nodes);"
        f" PostgreSQL: **{capacity.database_cores:.0f} cores = {capacity.database_machines} machine(s)**"
        " (+ a replica).",
        "",
        *(
            [
                f"With every IMU block charged at least its window's gross CPU per event (an upper bound where the"
                f" marginal cost is lost in the noise): platform **{upper[0].platform_cores:.0f} cores ="
                f" {upper[0].platform_machines} machines**, PostgreSQL **{upper[0].database_cores:.0f} cores**.",
                "",
            ]
            if upper
            else []
        ),
        f"Measured by: `{command}`",
    ]
    return "\n".join(lines) + "\n"
