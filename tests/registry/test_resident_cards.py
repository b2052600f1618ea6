"""Resident cards read ahead for an alarm: the console then has them without a database round trip."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from alerting.early import provisional_alert
from api.views import alert_views
from registry.store import Registry, ResidentRecord
from stream.detections import Detection, DetectionKind


async def test_cards_read_ahead_are_answered_from_memory_once_read(city_registry: Registry) -> None:
    registry = city_registry
    for resident in ("res-1", "res-2"):
        await registry.add_resident(ResidentRecord(resident, f"居民 {resident}", org_node="410100"))
    await registry.load()  # a restart: no card in memory
    read = registry.warm_cards(["res-1", "res-1"])
    assert read is not None and registry.warm_cards(["res-1"]) is None  # one read, already under way
    await read
    await registry.pool.close()  # the database gone: what was read ahead still answers
    assert (await registry.residents(["res-1"]))["res-1"].name == "居民 res-1"


async def test_a_card_asked_for_while_read_ahead_waits_for_that_read(city_registry: Registry) -> None:
    registry = city_registry
    await registry.add_resident(ResidentRecord("res-1", "居民", org_node="410100"))
    await registry.load()
    registry.warm_cards(["res-1", "nobody"])
    cards = await registry.residents(["res-1", "nobody"])
    assert list(cards) == ["res-1"] and cards["res-1"].name == "居民"


async def test_a_failed_read_ahead_leaves_the_card_to_be_read_when_shown(city_registry: Registry) -> None:
    registry = city_registry
    await registry.add_resident(ResidentRecord("res-1", "居民", org_node="410100"))
    await registry.load()
    pool = registry.pool
    registry.pool = None  # type: ignore[assignment]  # the read ahead fails
    registry.warm_cards(["res-1"])
    await asyncio.sleep(0.05)
    registry.pool = pool
    assert (await registry.residents(["res-1"]))["res-1"].name == "居民"


async def test_a_provisional_alert_is_shown_without_waiting_for_a_card_not_yet_read(city_registry: Registry) -> None:
    """The console's ring before the store (alerting/early.py) reads nothing: the card comes with the
    stored alert."""
    registry = city_registry
    for resident in ("res-1", "res-2"):
        await registry.add_resident(ResidentRecord(resident, f"居民 {resident}", org_node="410100"))
    await registry.load()
    await registry.residents(["res-1"])
    await registry.pool.close()  # any read would fail now
    now = datetime.now(UTC)
    presses = [Detection(r, "btn", DetectionKind.SOS, 0, 0, f"k-{r}") for r in ("res-1", "res-2")]
    alerts = [provisional_alert(press, "/", now) for press in presses]
    views = await alert_views(registry, alerts, now, wait_for_cards=False)
    assert [v["resident"] and v["resident"]["name"] for v in views] == ["居民 res-1", None]
    assert [v["details"]["stored"] for v in views] == [False, False]
