"""Batches handled side by side (gateway/inflight.py): a bound, one resident's batches in order."""

from __future__ import annotations

import asyncio

import pytest

from gateway.inflight import InFlight, ResidentTurns


async def test_a_residents_batch_waits_only_for_the_batch_before_it_that_holds_the_same_resident() -> None:
    turns = ResidentTurns()
    first, before_first = turns.take(["res-1", "res-2"])
    second, before_second = turns.take(["res-3"])
    third, before_third = turns.take(["res-2", "res-3"])
    assert before_first == set() and before_second == set() and before_third == {first, second}
    turns.done(["res-1", "res-2"], first)
    turns.done(["res-3"], second)
    assert len(turns) == 2  # res-2 and res-3 now wait on the third batch
    turns.done(["res-2", "res-3"], third)
    assert len(turns) == 0 and third.done()


async def test_at_most_limit_handlers_run_and_idle_is_told_when_the_last_ends() -> None:
    idle: list[int] = []
    in_flight = InFlight(2, on_idle=lambda: idle.append(in_flight.busy))
    release = asyncio.Event()
    running = 0
    most = 0

    async def handler() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1

    await in_flight.start(handler())
    await in_flight.start(handler())
    third = asyncio.create_task(in_flight.start(handler()))
    await asyncio.sleep(0.01)
    assert not third.done() and in_flight.busy == 2  # the third waits for a slot
    release.set()
    await third
    while in_flight.busy:
        await asyncio.sleep(0.001)
    assert most == 2 and idle and set(idle) == {0}  # told only when none runs


async def test_a_handlers_error_ends_the_lane_at_the_next_start_and_stop_cancels_the_rest() -> None:
    in_flight = InFlight(4)

    async def broken() -> None:
        raise ConnectionError("the session is gone")

    async def waiting() -> None:
        await asyncio.sleep(60)

    await in_flight.start(waiting())
    await in_flight.start(broken())
    await asyncio.sleep(0.01)
    with pytest.raises(ConnectionError):
        await in_flight.start(waiting())
    await in_flight.stop()
    assert in_flight.busy == 0


async def test_a_handlers_error_is_raised_once_so_the_restarted_lane_starts_afresh() -> None:
    in_flight = InFlight(2)

    async def broken() -> None:
        raise ConnectionError("the sink is gone")

    async def fine() -> None:
        return None

    await in_flight.start(broken())
    while in_flight.busy:
        await asyncio.sleep(0.001)
    with pytest.raises(ConnectionError):
        await in_flight.start(fine())
    await in_flight.start(fine())  # the lane restarted: the error is not raised again


async def test_stop_gives_the_handlers_a_grace_period_then_cancels_the_rest() -> None:
    in_flight = InFlight(4)
    finished: list[str] = []

    async def handler(name: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        finished.append(name)

    await in_flight.start(handler("quick", 0.01))
    await in_flight.start(handler("stuck", 60))
    await in_flight.stop(grace_s=0.5)
    assert finished == ["quick"] and in_flight.busy == 0
