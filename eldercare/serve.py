"""``eldercare up``: broker and database (embedded unless configured), platform, API and console."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
from pathlib import Path
from typing import Any

import uvicorn

from alerting.history import HistoryConfig
from alerting.notify import allowed_hosts
from alerting.service import AlertingConfig
from api import create_app
from api.app import ApiConfig
from api.security import TokenIssuer
from eldercare import runinfo
from eldercare.db import open_pool
from eldercare.embedded import port_is_free, resolve_services
from eldercare.runtime import Platform, PlatformConfig, settle_heap
from eldercare.settings import Settings
from gateway import BrokerAddress, GatewayConfig
from partitions.tasks import cancel_and_wait
from registry.crypto import FieldCipher

log = logging.getLogger("eldercare.up")


def gateway_config(settings: Settings) -> GatewayConfig:
    return GatewayConfig(
        topic_prefix=settings.topic_prefix,
        zigbee2mqtt_base=settings.zigbee2mqtt_base,
        client_id=settings.gateway_client_id,
        max_payload_bytes=settings.max_payload_bytes,
        batch_max_events=settings.batch_max_events,
        batch_linger_ms=settings.batch_linger_ms,
        dedup_capacity=settings.dedup_capacity,
    )


def trusted_proxies(settings: Settings) -> list[str]:
    return [item.strip() for item in settings.trusted_proxies.split(",") if item.strip()]


def history_config(settings: Settings) -> HistoryConfig:
    return HistoryConfig(
        raw_days=settings.history_raw_days,
        aggregate_days=settings.history_aggregate_days,
        months_ahead=settings.history_months_ahead,
        compress_after_days=settings.history_compress_after_days,
        utc_offset_min=settings.home_utc_offset_min,
    )


def alerting_config(settings: Settings) -> AlertingConfig:
    """Alerting's settings: the links' public URL, the homes' time, allowed relays, the hotline."""
    return AlertingConfig(
        public_url=settings.public_url or f"http://{settings.http_host}:{settings.http_port}",
        utc_offset_min=settings.home_utc_offset_min,
        notify_allowed_hosts=allowed_hosts(settings.notify_allowed_hosts),
        hotline=settings.hotline,
    )


def api_config(settings: Settings) -> ApiConfig:
    return ApiConfig(
        login_address_limit=settings.login_address_limit,
        console_recheck_s=settings.console_recheck_s,
        hotline=settings.hotline,
    )


def http_config(app: Any, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """The HTTP server's configuration. ``X-Forwarded-For`` is believed only from the configured
    proxies (uvicorn's own default trusts 127.0.0.1, so anything on the machine could pose as any
    address); without any, the peer's address is the client's."""
    proxies = trusted_proxies(settings)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        lifespan="off",
        ws="websockets-sansio",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or [],
    )


def secret_key(data_dir: Path) -> str:
    """The token signing key, generated once and kept in the data directory."""
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


async def ensure_admin(platform: Platform, settings: Settings) -> None:
    if settings.admin:
        username, _, password = settings.admin.partition(":")
        if not username or not password:
            raise SystemExit("ELDERCARE_ADMIN must be user:password")
        try:
            await platform.users.add(username, password, "admin")
        except ValueError as weak:
            raise SystemExit(f"ELDERCARE_ADMIN: {weak}") from None
        log.info("admin from ELDERCARE_ADMIN", extra={"username": username})
    elif await platform.users.count() == 0:
        password = secrets.token_urlsafe(12)
        await platform.users.add("admin", password, "admin")
        print(f"\n  First start: created user 'admin' with password '{password}' (shown once).\n", flush=True)


def reload_on_hangup(platform: Platform) -> None:
    """SIGHUP re-reads the registry (``eldercare sim`` sends it after entering its homes)."""
    loop = asyncio.get_running_loop()
    reloading: set[asyncio.Task[None]] = set()

    async def reload() -> None:
        try:
            await platform.registry.load()
            log.info("registry reloaded (SIGHUP)", extra={"devices": len(platform.registry.devices())})
        except Exception:
            log.exception("reloading the registry failed")

    def hangup() -> None:
        task = asyncio.create_task(reload(), name="registry-reload")
        reloading.add(task)
        task.add_done_callback(reloading.discard)

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGHUP, hangup)


class UserMistake(SystemExit):
    """A start that cannot go on for a reason the user can fix; printed as one line."""


def try_device(platform: Platform, demo: bool) -> str | None:
    """A call button to try the alarm path with: the demo's first, else the first one registered."""
    if demo:
        return "btn-0001"
    buttons = sorted(d.id for d in platform.registry.devices() if d.type == "sos_button")
    return buttons[0] if buttons else None


def ready_banner(
    settings: Settings, address: BrokerAddress, embedded_mqtt: bool, device: str | None, demo: bool
) -> str:
    """What ``eldercare up`` prints once it is up: where the console is, and commands to paste."""
    console = f"http://{settings.http_host}:{settings.http_port}/"
    lines = [
        "",
        f"  eldercare is up ({'demo homes running' if demo else 'no demo'})",
        f"    console   {console}      API docs {console}docs",
        f"    MQTT      {address.host}:{address.port}"
        + ("  (embedded broker; devices connect without a password)" if embedded_mqtt else ""),
    ]
    if device is None:
        lines.append("  No call button is registered yet: start with --demo, or register one (see README).")
    else:
        lines.append(f"  Try the alarm path: paste in another terminal (plays call button {device}):")
        lines += [
            f"    {command}"
            for command in runinfo.try_commands(address.host, address.port, settings.topic_prefix, device)
        ]
        if not embedded_mqtt and address.username:
            lines.append("    (your broker may want a device's user name and password: add -u USER -P PASSWORD)")
    lines.append("  Simulated homes beside it: eldercare sim --homes 10   (finds this platform by itself)")
    return "\n".join(lines) + "\n"


def check_http_port(settings: Settings) -> None:
    if not port_is_free(settings.http_port, settings.http_host):
        raise UserMistake(
            f"eldercare up: port {settings.http_port} on {settings.http_host} is in use (another eldercare?);"
            " stop it or set ELDERCARE_HTTP_PORT"
        )


async def run(settings: Settings, demo: bool) -> None:
    data_dir = Path(settings.data_dir).expanduser().resolve()
    check_http_port(settings)
    async with contextlib.AsyncExitStack() as stack:
        services = await stack.enter_async_context(resolve_services(settings))
        pool = await open_pool(services.database_url)
        stack.push_async_callback(pool.close)
        address = BrokerAddress.parse(services.mqtt_url)
        platform = Platform(
            pool,
            address,
            PlatformConfig(
                gateway=gateway_config(settings),
                stream_tick_s=settings.stream_tick_s,
                spool_path=data_dir / "spool" / "alerts.jsonl",
                snapshot_path=data_dir / "stream.snapshot",
                snapshot_every_s=settings.snapshot_every_s,
                history=history_config(settings),
                rollup_every_s=settings.history_rollup_every_s,
                alerting=alerting_config(settings),
            ),
            cipher=FieldCipher.for_site(settings.field_key, data_dir),
        )
        await platform.prepare()
        await ensure_admin(platform, settings)
        tasks: list[asyncio.Task[None]] = []
        if demo:
            from eldercare.demo import COMMUNITY, RESIDENTS, run_demo, seed
            from eldercare.demo_service_life import ServiceLife
            from eldercare.demo_services import seed_service_centre

            homes = await seed(platform.registry)
            await seed_service_centre(platform.service_centre, COMMUNITY, platform.alerts.clock())
            life = ServiceLife(platform.service_centre, [(r.id, r.phone) for r in RESIDENTS])
            tasks.append(asyncio.create_task(life.run(), name="demo-service-centre"))  # calls and orders, live
            demo_homes = run_demo(
                BrokerAddress(address.host, address.port),  # devices never hold the platform's login
                homes,
                prefix=settings.topic_prefix,
                z2m_base=settings.zigbee2mqtt_base,
                ready=platform.gateway.connected,
            )
            tasks.append(asyncio.create_task(demo_homes, name="demo-homes"))
        if settings.cluster == "jetstream":  # the partitioned log at the seam (README: Scale-out)
            from eldercare.cluster import ClusterSeam

            nats_url = settings.nats_url or (services.broker.nats_url if services.broker else "")
            if not nats_url:
                raise SystemExit("ELDERCARE_CLUSTER=jetstream with an external broker needs ELDERCARE_NATS_URL")
            seam = await ClusterSeam.open(
                settings,
                nats_url,
                platform.alerts,
                platform.bus,
                platform.history,
                platform.registry.routine_of,
                platform.registry.night_watch_of,
                platform.registry,
            )
            platform.seam = seam.writer.sink
            seam.start()
            stack.push_async_callback(seam.stop)
        await platform.start()
        stack.push_async_callback(platform.stop)
        issuer = TokenIssuer(settings.secret_key or secret_key(data_dir), settings.token_ttl_s)
        app = create_app(platform, issuer, api_config(settings))
        settle_heap()
        server = uvicorn.Server(http_config(app, settings, settings.http_host, settings.http_port))
        device_address = BrokerAddress(address.host, address.port)
        runinfo.write(
            data_dir,
            runinfo.RunInfo(
                pid=os.getpid(),
                mqtt_host=device_address.host,
                mqtt_port=device_address.port,
                database_url=services.database_url,
                console_url=f"http://{settings.http_host}:{settings.http_port}/",
                topic_prefix=settings.topic_prefix,
                zigbee2mqtt_base=settings.zigbee2mqtt_base,
            ),
        )
        stack.callback(runinfo.remove, data_dir, os.getpid())
        reload_on_hangup(platform)
        print(ready_banner(settings, address, services.embedded_mqtt, try_device(platform, demo), demo), flush=True)
        try:
            await server.serve()
        finally:
            await cancel_and_wait(tasks)
