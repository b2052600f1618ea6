"""Findings 4d-4f of issue 12: login throttling, ``X-Forwarded-For`` and secrets in the server log."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import httpx
import websockets

from api.security import LoginThrottle
from eldercare.settings import Settings
from lab.harness import Namespace, PlatformProcess, up_env
from tests.harness import running_platform
from tests.services import TestServices

PASSWORD = "a-long-password-1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_slows_a_pair_exponentially_and_never_locks_the_user_elsewhere() -> None:
    clock = Clock()
    throttle = LoginThrottle(free_attempts=5, max_delay_s=300, address_limit=50, window_s=900, clock=clock)
    for _ in range(5):
        assert throttle.retry_after("admin", "203.0.113.7") == 0
        throttle.failed("admin", "203.0.113.7")
    waits = []
    for _ in range(12):
        waits.append(throttle.retry_after("admin", "203.0.113.7"))
        clock.now += waits[-1]
        throttle.failed("admin", "203.0.113.7")
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0] and max(waits) == 300.0
    assert throttle.retry_after("admin", "198.51.100.20") == 0  # the real admin, elsewhere
    assert throttle.retry_after("Admin", "203.0.113.7") > 0  # names are not case games
    clock.now += 901
    assert throttle.retry_after("admin", "203.0.113.7") == 0  # forgotten after the window


def test_another_accounts_success_does_not_clear_the_address_count() -> None:
    clock = Clock()
    throttle = LoginThrottle(address_limit=12, clock=clock)
    for round_ in range(3):
        for n in range(4):
            assert throttle.retry_after(f"user-{round_}-{n}", "203.0.113.7") == 0
            throttle.failed(f"user-{round_}-{n}", "203.0.113.7")
        throttle.succeeded("mallory", "203.0.113.7")
    assert throttle.retry_after("someone-new", "203.0.113.7") > 0


async def login(http: httpx.AsyncClient, username: str, password: str, address: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    return await http.post("/api/v1/auth/token", data={"username": username, "password": password}, headers=headers)


async def test_nobody_can_lock_out_a_user_or_a_call_centre(services: TestServices) -> None:
    settings = Settings(trusted_proxies="127.0.0.1", login_address_limit=10)
    async with running_platform(services, residents=0, settings=settings) as harness:
        users = harness.platform.users
        for name in ("boss", "mallory", *(f"agent-{n}" for n in range(8))):
            await users.add(name, PASSWORD, "admin")
        async with httpx.AsyncClient(base_url=harness.http_url) as http:
            attacker, office, call_centre = "203.0.113.7", "198.51.100.20", "192.0.2.44"
            for _ in range(5):
                assert (await login(http, "boss", "guess-123456", attacker)).status_code == 401
            slowed = await login(http, "boss", "guess-123456", attacker)
            assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) <= 2, slowed.headers
            assert (await login(http, "boss", PASSWORD, office)).status_code == 200  # not locked out
            # eight operators behind one NAT address each mistype once, then get in
            for n in range(8):
                assert (await login(http, f"agent-{n}", "typo-password-1", call_centre)).status_code == 401
                assert (await login(http, f"agent-{n}", PASSWORD, call_centre)).status_code == 200
            # guessing at many names from one address: the attacker's own logins do not reset the count
            for round_ in range(3):
                for n in range(4):
                    response = await login(http, f"victim-{round_}-{n}", "guess-123456", attacker)
                    assert response.status_code in (401, 429)
                assert (await login(http, "mallory", PASSWORD, attacker)).status_code in (200, 429)
            assert (await login(http, "victim-new", "guess-123456", attacker)).status_code == 429


async def test_x_forwarded_for_is_ignored_unless_from_a_trusted_proxy(services: TestServices) -> None:
    settings = Settings(login_address_limit=6)
    async with (
        running_platform(services, residents=0, settings=settings) as harness,
        httpx.AsyncClient(base_url=harness.http_url) as http,
    ):
        for n in range(6):  # one client posing as six addresses: still one address
            response = await login(http, f"name-{n}", "guess-123456", f"198.51.100.{n + 1}")
            assert response.status_code == 401
        assert (await login(http, "name-6", "guess-123456", "198.51.100.99")).status_code == 429


async def test_a_real_start_logs_no_password_or_token(services: TestServices, tmp_path: Path) -> None:
    """``eldercare up`` with passwords in the broker and database URLs; a console websocket with its
    token in the query string. The captured log holds neither."""
    database_url = await services.create_database()
    db_password, mqtt_password = f"db-{uuid.uuid4().hex}", f"mq-{uuid.uuid4().hex}"
    host_part = database_url.split("://", 1)[1].split("@")[-1]
    env = up_env(
        f"mqtt://eldercare:{mqtt_password}@{services.mqtt_host}:{services.mqtt_port}",
        f"postgresql://postgres:{db_password}@{host_part}",
        tmp_path,
        Namespace(),
        admin=("admin", PASSWORD),
    )
    log_file = tmp_path / "server.log"
    with log_file.open("wb") as sink:
        up = PlatformProcess(env, output=sink)
        process = up.spawn()
        try:
            async with httpx.AsyncClient(base_url=up.url) as http:
                for _ in range(600):
                    try:
                        response = await login(http, "admin", PASSWORD)
                        break
                    except httpx.TransportError:
                        assert process.poll() is None, log_file.read_text()
                        await asyncio.sleep(0.1)
                assert response.status_code == 200, response.text
                token = response.json()["access_token"]
                async with websockets.connect(f"ws://127.0.0.1:{up.port}/api/v1/ws/console?token={token}") as ws:
                    await asyncio.wait_for(ws.recv(), 10)
                await http.get("/healthz", params={"token": token})
        finally:
            await up.stop(signal.SIGINT)
    log = log_file.read_text()
    assert "services: mqtt" in log and "WebSocket /api/v1/ws/console" in log, log  # the lines that leaked
    for secret in (db_password, mqtt_password, token, token.split(".")[2]):
        assert secret not in log, f"{secret[:12]}… is in the log:\n{log}"
