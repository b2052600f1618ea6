"""The first hour of a newcomer, as a real process: ``eldercare up --demo`` on the embedded broker
(its wanted port taken, as on a machine that runs Mosquitto) prints commands; pasted into a shell
they ring the console in Chromium and the "button" hears "call received". A restart keeps the
port; ``eldercare sim`` beside it finds the platform by itself; mistakes print one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import free_port
from tests.services import TestServices

ADMIN = ("admin", "first-hour-admin-password")
TIMEOUT_MS = 20_000
CLI = [sys.executable, "-c", "from eldercare.cli import main; main()"]

pytestmark = pytest.mark.skipif(shutil.which("mosquitto_pub") is None, reason="mosquitto-clients not installed")


class Up:
    """``eldercare up`` as a child process, its printed lines collected."""

    def __init__(self, env: dict[str, str], demo: bool = True) -> None:
        self.proc = subprocess.Popen(
            [*CLI, "up", *(["--demo"] if demo else [])],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []

    async def banner(self, timeout: float = 180.0) -> list[str]:
        """Lines printed up to the simulator hint that ends the start-up banner."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = await asyncio.to_thread(self.proc.stdout.readline)
            if not line:
                raise AssertionError("eldercare up exited:\n" + "".join(self.lines[-40:]))
            self.lines.append(line)
            if "eldercare sim" in line:
                return self.lines
        raise AssertionError("no start-up banner:\n" + "".join(self.lines[-40:]))

    async def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(self.proc.wait, 30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait, 10)
        if self.proc.stdout is not None:
            with contextlib.suppress(Exception):
                self.lines += self.proc.stdout.readlines()
            self.proc.stdout.close()
        return self.proc.returncode


@contextlib.asynccontextmanager
async def eldercare_up(env: dict[str, str], demo: bool = True) -> AsyncIterator[Up]:
    up = Up(env, demo)
    try:
        yield up
    finally:
        await up.stop()


def pasted(lines: list[str]) -> tuple[str, str]:
    sub = next(line.strip() for line in lines if line.strip().startswith("mosquitto_sub"))
    pub = next(line.strip() for line in lines if line.strip().startswith("mosquitto_pub"))
    return sub, pub


def mqtt_port(lines: list[str]) -> int:
    match = re.search(r"MQTT\s+127\.0\.0\.1:(\d+)", "".join(lines))
    assert match, lines
    return int(match.group(1))


async def test_pasted_commands_ring_the_console(
    services: TestServices, browser: Any, screenshots: Path, tmp_path: Path
) -> None:
    data_dir, http_port = tmp_path / "data", free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_")},
        "ELDERCARE_DATABASE_URL": await services.create_database(),
        "ELDERCARE_DATA_DIR": str(data_dir),
        "ELDERCARE_HTTP_PORT": str(http_port),
        "ELDERCARE_ADMIN": ":".join(ADMIN),
        "ELDERCARE_EMBEDDED_MQTT_PORT": str(services.mqtt_port),  # taken: the test broker listens there
    }
    console = f"http://127.0.0.1:{http_port}/"
    async with eldercare_up(env) as up:
        lines = await up.banner()
        port = mqtt_port(lines)
        assert port != services.mqtt_port
        sub, pub = pasted(lines)
        assert f"-p {port}" in sub and f"-p {port}" in pub and "btn-0001" in pub
        assert (data_dir / "run.json").exists()

        context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
        page = await context.new_page()
        await page.goto(console)
        await page.fill("#login input[name=username]", ADMIN[0])
        await page.fill("#login input[name=password]", ADMIN[1])
        await page.click("#login button[type=submit]")
        await page.wait_for_selector("#status[data-state=live]", timeout=TIMEOUT_MS)

        # paste the two commands, as printed, into a shell
        shell = subprocess.Popen(
            ["bash", "-c", f"{sub.removesuffix('&').strip()} -C 1 -W 30"], stdout=subprocess.PIPE, text=True
        )
        await asyncio.sleep(1.0)  # the subscription is in place
        published = await asyncio.to_thread(subprocess.run, ["bash", "-c", pub], capture_output=True, text=True)
        assert published.returncode == 0, published.stderr
        await page.wait_for_selector("li.alert[data-kind=sos][data-state=raised]", timeout=TIMEOUT_MS)
        await page.wait_for_selector("body[data-ringing=true]", timeout=TIMEOUT_MS)
        assert "王秀英" in await page.inner_text("li.alert[data-kind=sos]")
        heard, _ = await asyncio.to_thread(shell.communicate, None, 40)
        assert "call_received" in heard, heard
        await page.screenshot(path=screenshots / "first-hour-ringing-en.png", full_page=True)
        await context.close()

        # eldercare sim beside it: finds broker and registry, its devices are not unknown
        sim = await asyncio.to_thread(
            subprocess.run,
            [*CLI, "sim", "--homes", "1", "--duration", "4", "--wearables", "0", "--zigbee", "0", "--speed", "600"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sim.returncode == 0, sim.stderr
        assert "platform found" in sim.stderr and "registered 1 homes" in sim.stderr, sim.stderr
        async with httpx.AsyncClient() as http:
            health = (await http.get(f"{console}healthz")).json()
        assert health["gateway"]["rejected"].get("unknown_device", 0) == 0, health["gateway"]

    assert not (data_dir / "run.json").exists()
    async with eldercare_up(env) as again:  # the port stays across restarts
        assert mqtt_port(await again.banner()) == port
        await asyncio.sleep(3.0)  # the broker hands the gateway the demo's retained messages again
        async with httpx.AsyncClient() as http:
            gateway = (await http.get(f"{console}healthz")).json()["gateway"]
        clean = gateway["received"] > 0 and gateway["rejected"] == {}  # none of its own rejected
        if not clean:
            await again.stop()
        assert clean, (gateway, [line for line in again.lines if "reject" in line][-20:])


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=env)


def test_user_mistakes_print_one_line(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_")}
    missing = run_cli("replay", "falls", str(tmp_path / "no-such-dir"))
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert "does not exist" in missing.stderr

    wrong_url = run_cli(
        "sim",
        "--duration",
        "1",
        env={**base, "ELDERCARE_MQTT_URL": "http://127.0.0.1:1883", "ELDERCARE_DATA_DIR": str(tmp_path)},
    )
    assert wrong_url.returncode == 2 and "Traceback" not in wrong_url.stderr, wrong_url.stderr
    assert wrong_url.stderr.strip().splitlines()[-1].startswith("eldercare: error: MQTT URL scheme")

    nobody = run_cli(
        "sim", "--duration", "1", "--mqtt", "mqtt://127.0.0.1:1", env={**base, "ELDERCARE_DATA_DIR": str(tmp_path)}
    )
    assert nobody.returncode != 0 and "Traceback" not in nobody.stderr, nobody.stderr
    last = nobody.stderr.strip().splitlines()[-1]
    assert last.startswith("eldercare sim: no MQTT broker at 127.0.0.1:1"), nobody.stderr

    with contextlib.closing(socket.socket()) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        in_use = run_cli("up", env={**base, "ELDERCARE_HTTP_PORT": str(port), "ELDERCARE_DATA_DIR": str(tmp_path)})
    assert in_use.returncode != 0 and "Traceback" not in in_use.stderr, in_use.stderr
    assert f"port {port}" in in_use.stderr and len(in_use.stderr.strip().splitlines()) == 1, in_use.stderr
