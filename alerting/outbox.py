"""The notification outbox: a notice is written in the deciding transaction, sent after the commit.

If the process dies between the two, the notice stays unsent in ``notification_outbox``; a sweep takes
over every notice unsent past its lease, so a committed notice is delivered at least once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace
from datetime import timedelta

from alerting.context import Context
from alerting.notify import Delivery, Notice, redact, refused_target
from alerting.tx import Transaction

log = logging.getLogger("eldercare.alerting")


class Outbox:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def queue(self, tx: Transaction, notice: Notice) -> None:
        """Write ``notice`` to the outbox inside the deciding transaction (claimed by this process)
        and send it after the commit: if the process dies in between, a sweep sends it later."""
        cursor = await tx.conn.execute(
            "INSERT INTO notification_outbox (alert_id, audience, recipient, urls, title, body, created_at, claimed_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                uuid.UUID(notice.alert_id),
                notice.audience,
                notice.recipient,
                list(notice.urls),
                notice.title,
                notice.body,
                tx.now,
                tx.now,
            ),
        )
        row = await cursor.fetchone()
        assert row is not None
        tx.notify(replace(notice, outbox_id=row["id"]))

    async def sweep(self) -> int:
        """Send every outbox notification left unsent past the lease (its sender died or hung after
        the commit); each is claimed first, so two processes never both take one over. Delivery is
        at least once: a sender that died mid-send may have reached some channels already.
        Returns how many were taken over."""
        now = self.ctx.clock()
        async with self.ctx.connection() as conn:
            cursor = await conn.execute(
                "UPDATE notification_outbox SET claimed_at = %s, attempts = attempts + 1"
                " WHERE sent_at IS NULL AND claimed_at <= %s"
                " RETURNING id, alert_id, audience, recipient, urls, title, body, attempts",
                (now, now - timedelta(seconds=self.ctx.config.outbox_lease_s)),
            )
            rows = await cursor.fetchall()
        for row in rows:
            notice = Notice(
                str(row["alert_id"]),
                row["audience"],
                row["recipient"],
                tuple(row["urls"]),
                row["title"],
                row["body"],
                outbox_id=row["id"],
            )
            log.warning(
                "notification taken over from the outbox",
                extra={"alert_id": notice.alert_id, "audience": notice.audience, "attempt": row["attempts"]},
            )
            self.ctx.spawn(self.deliver(notice))
        return len(rows)

    async def sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.ctx.config.outbox_sweep_s)
            try:
                await self.sweep()
            except Exception:  # the database may be away; the next sweep tries again
                log.exception("outbox sweep failed")

    async def deliver(self, notice: Notice) -> None:
        """Send ``notice`` on each of its channels, record each result, and mark it sent."""
        try:
            allowed = self.ctx.config.notify_allowed_hosts
            refusals = await asyncio.to_thread(lambda: [refused_target(url, allowed) for url in notice.urls])
            sendable = [url for url, refused in zip(notice.urls, refusals, strict=True) if refused is None]
            results = [Delivery(redact(url), False, why) for url, why in zip(notice.urls, refusals, strict=True) if why]
            if sendable:
                results += await self.ctx.notifier.send(sendable, notice.title, notice.body)
            async with self.ctx.connection() as conn, conn.transaction():
                for result in results:
                    await conn.execute(
                        "INSERT INTO notification_deliveries (alert_id, audience, recipient, channel, at, ok, error)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        (
                            uuid.UUID(notice.alert_id),
                            notice.audience,
                            notice.recipient,
                            result.channel,
                            self.ctx.clock(),
                            result.ok,
                            result.error,
                        ),
                    )
                if notice.outbox_id is not None:
                    await conn.execute(
                        "UPDATE notification_outbox SET sent_at = %s WHERE id = %s",
                        (self.ctx.clock(), notice.outbox_id),
                    )
        except Exception:  # left unsent in the outbox: the sweep after the lease sends it again
            log.exception("notification failed", extra={"alert_id": notice.alert_id, "audience": notice.audience})
