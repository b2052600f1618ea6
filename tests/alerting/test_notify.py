"""Family notifications through Apprise to a real local SMTP server and webhook receiver; one-tap links."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import timedelta

import pytest

from alerting import AlertState, EscalationPolicy, InvalidLink
from alerting.links import LinkSigner
from alerting.notify import Contact, Delivery, Notifier, redact
from stream.detections import DetectionKind
from tests.alerting.conftest import T0, FakeClock, ServiceFactory, advance, bus, detection
from tests.alerting.receivers import smtp_server, webhook_server

FAMILY = EscalationPolicy(ring_again_s=(), supervisor_s=None, family_s=120, family_interval_s=120, emergency_s=None)


def mail_url(port: int, to: str) -> str:
    return f"mailto://127.0.0.1:{port}?from=centre@eldercare.test&to={to}&mode=insecure"


async def resident_names(resident_id: str) -> str | None:
    return {"res-1": "王秀英"}.get(resident_id)


async def test_family_ladder_email_then_webhook_and_one_tap_acknowledges(
    make_service: ServiceFactory, clock: FakeClock
) -> None:
    service = make_service(FAMILY, public_url="http://care.test")
    service.ctx.name_of = resident_names  # the platform hands alerting the registry's names
    await service.restore()
    with smtp_server() as (mailbox, smtp_port):
        async with webhook_server() as (hook, hook_port):
            await service.set_contacts(
                "res-1",
                [
                    {"name": "Daughter", "relation": "daughter", "urls": [mail_url(smtp_port, "daughter@family.test")]},
                    {"name": "Son", "relation": "son", "urls": [f"json://127.0.0.1:{hook_port}/hook"]},
                ],
            )
            [raised] = await service.raise_detections([detection()])
            await advance(service, clock, 119)
            assert mailbox.messages == []
            await advance(service, clock, 1)
            assert len(mailbox.messages) == 1 and mailbox.recipients[0] == ["daughter@family.test"]
            assert hook.requests == []
            await advance(service, clock, 120)
            assert len(hook.requests) == 1
            body = hook.requests[0]["json"]
            message = body["message"]
            assert hook.requests[0]["path"] == "/hook", hook.requests[0]
            # Chinese first, then English; the resident by name, the alert in plain words, the homes' time
            assert message.startswith("12349 养老服务热线：2026-03-02 10:00，王秀英 发出了紧急呼叫。"), message
            assert "an emergency call from 王秀英" in message and "res-1" not in message, message
            assert message.index("紧急呼叫") < message.index("emergency call")
            text = mailbox.text(0)
            link = re.search(r"(http://care\.test/f/[A-Za-z0-9_\-.]+)\?do=going", text)
            assert link is not None, text
            token = link.group(1).rsplit("/", 1)[1]
            alert = await service.family_response(token, "going", "15 minutes away")
            assert alert.state is AlertState.ACKNOWLEDGED and alert.acknowledged_by == "family:Daughter"
            assert alert.details["family_going"] == "Daughter"
            await advance(service, clock, 3600)
            assert len(hook.requests) == 1 and len(mailbox.messages) == 1  # acknowledged: the ladder stopped
    deliveries = await service.deliveries(raised.alert.id)
    assert [(d["recipient"], d["ok"], d["channel"]) for d in deliveries] == [
        ("Daughter", True, f"mailto://127.0.0.1:{smtp_port}"),
        ("Son", True, f"json://127.0.0.1:{hook_port}"),
    ]
    trail = await service.audit_trail(raised.alert.id)
    assert trail[-1]["actor"] == "family:Daughter" and "going over" in trail[-1]["note"]


async def test_failed_delivery_is_recorded_and_kinds_and_quiet_hours_are_respected(
    make_service: ServiceFactory, clock: FakeClock
) -> None:
    service = make_service(FAMILY)
    await service.restore()
    async with webhook_server() as (hook, port):
        hook.status = 500
        await service.set_contacts(
            "res-1",
            [
                {"name": "Only smoke", "urls": [f"json://127.0.0.1:{port}/a"], "kinds": ["smoke"]},
                # 10:00 local is inside these quiet hours
                {
                    "name": "Night worker",
                    "urls": [f"json://127.0.0.1:{port}/b"],
                    "quiet_start": "08:00",
                    "quiet_end": "16:00",
                },
                {"name": "Neighbour", "urls": [f"json://127.0.0.1:{port}/c"]},
            ],
        )
        await service.set_policy("resident", "res-1", {"cancel_window_s": 0}, "admin")
        [vitals] = await service.raise_detections([detection(DetectionKind.VITALS, device="vit-1", key="v")])
        await service.notify_family(vitals.alert.id, "op1")
        await service.drain()
        assert [r["path"] for r in hook.requests] == ["/c"]
        [urgent] = await service.raise_detections([detection(DetectionKind.SOS, key="s")])
        await service.notify_family(urgent.alert.id, "op1")
        await service.drain()
        assert sorted(r["path"] for r in hook.requests) == ["/b", "/c", "/c"]  # SOS goes through quiet hours
    deliveries = await service.deliveries(vitals.alert.id)
    assert [(d["recipient"], d["ok"], d["error"]) for d in deliveries][:2] == [
        ("Only smoke", False, "skipped: does not want vitals alerts"),
        ("Night worker", False, "skipped: quiet hours"),
    ]
    assert deliveries[2]["recipient"] == "Neighbour" and deliveries[2]["ok"] is False  # the receiver said 500


class DeadSender(Notifier):
    """A process that died between the commit and the send: its send never happens."""

    async def send(self, urls: Sequence[str], title: str, body: str) -> list[Delivery]:
        await asyncio.Event().wait()
        return []


async def test_a_notice_whose_sender_died_after_the_commit_is_sent_by_a_sweep_once(
    make_service: ServiceFactory, clock: FakeClock
) -> None:
    dead = make_service(FAMILY)
    dead.notifier = DeadSender()
    await dead.restore()
    async with webhook_server() as (hook, port):
        await dead.set_contacts("res-1", [{"name": "Son", "urls": [f"json://127.0.0.1:{port}/hook"]}])
        [raised] = await dead.raise_detections([detection()])
        clock.advance(120)
        assert await dead.scheduler.run_due() == 1  # the family step commits its notice ...
        hanging = list(dead._background)
        for task in hanging:  # ... and the process dies before sending it
            task.cancel()
        await asyncio.gather(*hanging, return_exceptions=True)
        assert hook.requests == []

        alive = make_service(FAMILY)
        await alive.restore()  # restarted at once: within the lease the old sender may still be at it
        assert await alive.sweep_outbox() == 0
        clock.advance(alive.config.outbox_lease_s)
        assert await alive.sweep_outbox() == 1
        await alive.drain()
        assert len(hook.requests) == 1 and "an emergency call from res-1" in hook.requests[0]["json"]["message"]
        clock.advance(3 * alive.config.outbox_lease_s)
        assert await alive.sweep_outbox() == 0  # sent: never again
        await alive.drain()
        assert len(hook.requests) == 1
    deliveries = await alive.deliveries(raised.alert.id)
    assert [(d["recipient"], d["ok"]) for d in deliveries] == [("Son", True)]


async def test_sent_notices_are_never_swept(make_service: ServiceFactory, clock: FakeClock) -> None:
    service = make_service(FAMILY)
    await service.restore()
    async with webhook_server() as (hook, port):
        await service.set_contacts("res-1", [{"name": "Son", "urls": [f"json://127.0.0.1:{port}/hook"]}])
        await service.raise_detections([detection()])
        await advance(service, clock, 120)
        assert len(hook.requests) == 1
        clock.advance(10 * service.config.outbox_lease_s)
        assert await service.sweep_outbox() == 0
        await service.drain()
        assert len(hook.requests) == 1


async def test_contacts_are_validated(service: object) -> None:
    from alerting import InvalidRequest
    from alerting.service import AlertService

    assert isinstance(service, AlertService)
    with pytest.raises(InvalidRequest, match="Apprise"):
        await service.set_contacts("res-1", [{"name": "x", "urls": ["nonsense"]}])
    for kind in ("zombie", "moving_again"):  # a notice on an alert is no alert to be told of
        with pytest.raises(InvalidRequest, match="unknown alert kinds"):
            await service.set_contacts("res-1", [{"name": "x", "urls": ["json://127.0.0.1/x"], "kinds": [kind]}])
    saved = await service.set_contacts(
        "res-1", [{"name": "x", "urls": ["json://127.0.0.1/x"], "quiet_start": "22:00", "quiet_end": "07:00"}]
    )
    assert saved[0].to_json()["quiet_start"] == "22:00"


def test_quiet_hours_across_midnight() -> None:
    from datetime import time

    contact = Contact("r", 1, "n", ("json://x",), quiet_start=time(22), quiet_end=time(7))
    assert contact.quiet_at(time(23, 30)) and contact.quiet_at(time(6, 59))
    assert not contact.quiet_at(time(7)) and not contact.quiet_at(time(12))


def test_links_are_signed_and_expire() -> None:
    signer = LinkSigner(b"k" * 32)
    token = signer.sign("alert-1", "family", "res-1:1", T0 + timedelta(hours=1))
    assert signer.verify(token, "family", T0).subject == "res-1:1"
    with pytest.raises(InvalidLink, match="expired"):
        signer.verify(token, "family", T0 + timedelta(hours=2))
    with pytest.raises(InvalidLink, match="someone else"):
        signer.verify(token, "responder", T0)
    with pytest.raises(InvalidLink, match="not valid"):
        signer.verify(token[:-2] + "xx", "family", T0)
    with pytest.raises(InvalidLink):
        LinkSigner(b"other" * 8).verify(token, "family", T0)


def test_redact_drops_secrets() -> None:
    assert redact("mailto://user:secret@smtp.example.com:587?to=a@b") == "mailto://smtp.example.com:587"
    assert redact("wecombot://BOTKEY") == "wecombot://botkey"
    assert bus  # keep the shared helpers imported for other tests


def test_channels_are_described_without_secrets() -> None:
    from alerting.notify import describe_channel

    assert describe_channel("mailto://li@example.com") == "mailto li@example.com"
    assert describe_channel("mailtos://zhang:app-password@qq.com") == "mailto zhang@qq.com"
    assert describe_channel("mailtos://relay:secret@smtp.example.com/son@example.com") == "mailto son@example.com"
    assert describe_channel("json://127.0.0.1:8080/hook?token=abc") == "json 127.0.0.1"
    assert describe_channel("wecombot://SECRETKEY") == "wecombot"
    for url in ("mailtos://zhang:app-password@qq.com", "wecombot://SECRETKEY", "jsons://u:p@h/x?token=abc"):
        described = describe_channel(url)
        assert not any(secret in described for secret in ("app-password", "SECRETKEY", "abc", ":p")), described
