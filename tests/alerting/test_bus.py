"""The in-process event bus: order, a lagging subscriber cut off, a subscription ended from outside."""

from __future__ import annotations

import asyncio

import pytest

from alerting.bus import EventBus, Lagged


async def test_events_arrive_in_order_from_both_buses_through_one_queue() -> None:
    alerts, orders = EventBus[str](), EventBus[str]()
    async with alerts.subscribe(orders) as events:
        alerts.publish("a1")
        orders.publish("o1")
        alerts.publish("a2")
        assert [await anext(events) for _ in range(3)] == ["a1", "o1", "a2"]
    assert alerts.subscribers == 0 and orders.subscribers == 0


async def test_a_subscriber_that_falls_behind_is_cut_off_not_waited_for() -> None:
    bus = EventBus[int](maxsize=3)
    async with bus.subscribe() as events:
        for n in range(5):
            bus.publish(n)  # never blocks the publisher
        with pytest.raises(Lagged):
            async for _ in events:
                pass


async def test_ending_a_subscription_wakes_a_waiting_feed_and_drops_what_it_had_not_taken() -> None:
    bus = EventBus[str]()
    async with bus.subscribe() as events:
        seen: list[str] = []

        async def feed() -> None:
            async for event in events:
                seen.append(event)

        task = asyncio.create_task(feed())
        bus.publish("first")
        await asyncio.sleep(0.01)
        assert seen == ["first"] and not task.done()  # waiting for the next event
        stopper = asyncio.get_running_loop().create_future()
        stopper.add_done_callback(lambda _: events.end())
        stopper.set_result("the client went away")
        await asyncio.wait_for(task, 1.0)
        bus.publish("after the end")
        assert [event async for event in events] == []
    assert seen == ["first"]
