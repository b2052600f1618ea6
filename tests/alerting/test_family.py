"""A family link answers for the contact it was sent to, never for whoever holds their place in the list now."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from psycopg_pool import AsyncConnectionPool

from alerting import AlertService, AlertState, InvalidLink
from tests.alerting.conftest import FakeClock, detection

SON = {"name": "Son Zhang", "relation": "son", "phone": "13955550001", "urls": ["json://127.0.0.1/son"]}
DAUGHTER = {"name": "Daughter Li", "relation": "daughter", "phone": "13955550002", "urls": ["json://127.0.0.1/li"]}


async def family_tokens(pool: AsyncConnectionPool, alert_id: uuid.UUID) -> dict[str, str]:
    """Each notified contact's link token, read from the notices queued for them."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT recipient, body FROM notification_outbox WHERE alert_id = %s AND audience = 'family'", (alert_id,)
        )
        rows = await cursor.fetchall()
    tokens = {}
    for row in rows:
        found = re.search(r"/f/([A-Za-z0-9_\-.]+)\?do=going", row["body"])
        assert found is not None, row["body"]
        tokens[row["recipient"]] = found.group(1)
    return tokens


async def notified(service: AlertService, pool: AsyncConnectionPool) -> tuple[uuid.UUID, dict[str, str]]:
    [raised] = await service.raise_detections([detection()])
    await service.notify_family(raised.alert.id, "op1")
    await service.drain()  # (nobody listens at these URLs: the sends fail, the notices stay queued)
    return raised.alert.id, await family_tokens(pool, raised.alert.id)


async def test_a_removed_contacts_link_is_refused_and_credits_nobody(
    service: AlertService, pool: AsyncConnectionPool
) -> None:
    await service.set_contacts("res-1", [SON])
    alert_id, tokens = await notified(service, pool)
    await service.set_contacts("res-1", [DAUGHTER])  # the son is removed; the daughter takes his place
    with pytest.raises(InvalidLink, match="no longer on the resident's contact list"):
        await service.verify_link(tokens["Son Zhang"], "family")
    with pytest.raises(InvalidLink, match="no longer on the resident's contact list"):
        await service.family_response(tokens["Son Zhang"], "going")
    alert = await service.get(alert_id)
    assert alert.state is AlertState.RAISED and alert.acknowledged_by is None
    assert "family_going" not in alert.details


async def test_a_kept_contacts_link_still_works_after_the_list_is_reordered(
    service: AlertService, pool: AsyncConnectionPool
) -> None:
    await service.set_contacts("res-1", [SON, DAUGHTER])
    _, tokens = await notified(service, pool)
    await service.set_contacts("res-1", [DAUGHTER, SON])  # the son moves from 1st to 2nd
    alert = await service.family_response(tokens["Son Zhang"], "going")
    assert alert.state is AlertState.ACKNOWLEDGED and alert.acknowledged_by == "family:Son Zhang"
    assert alert.details["family_going"] == "Son Zhang"


async def test_a_link_signed_before_links_named_their_contact(
    service: AlertService, pool: AsyncConnectionPool, clock: FakeClock
) -> None:
    """A position-only link (sent before this release) answers only for a contact told of the alert."""
    await service.set_contacts("res-1", [SON])
    alert_id, _ = await notified(service, pool)
    signer = await service.ctx.links()
    old = signer.sign(str(alert_id), "family", "res-1:1", clock.now + timedelta(hours=1))
    await service.set_contacts("res-1", [DAUGHTER])  # never told of this alert
    with pytest.raises(InvalidLink, match="no longer on the resident's contact list"):
        await service.family_response(old, "going")
    await service.set_contacts("res-1", [SON])
    alert = await service.family_response(old, "fine")
    assert alert.acknowledged_by == "family:Son Zhang" and alert.details["resident_reached"] is True
