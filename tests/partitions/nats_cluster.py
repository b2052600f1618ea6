"""A JetStream cluster of real nats-server processes on loopback, for the partition tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import nats

from eldercare.embedded import find_nats_server, free_port


@dataclass
class Node:
    name: str
    client_port: int
    route_port: int
    directory: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"


@dataclass
class NatsCluster:
    directory: Path
    size: int = 3
    nodes: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        for i in range(self.size):
            name = f"n{i + 1}"
            self.nodes.append(Node(name, free_port(), free_port(), self.directory / name))

    @property
    def urls(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def _config(self, node: Node) -> str:
        routes = ", ".join(f"nats-route://127.0.0.1:{n.route_port}" for n in self.nodes if n is not node)
        return "\n".join(
            [
                f"server_name: {node.name}",
                f"listen: 127.0.0.1:{node.client_port}",
                f'jetstream {{ store_dir: "{node.directory / "js"}", max_memory_store: 64MB, max_file_store: 1GB }}',
                f"cluster {{ name: care, listen: 127.0.0.1:{node.route_port}, routes: [{routes}] }}",
                f'log_file: "{node.directory / "nats.log"}"',
                "",
            ]
        )

    def start(self, node: Node) -> None:
        node.directory.mkdir(parents=True, exist_ok=True)
        config = node.directory / "nats.conf"
        config.write_text(self._config(node))
        node.proc = subprocess.Popen(
            [str(find_nats_server()), "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def start_all(self, timeout_s: float = 30.0) -> None:
        for node in self.nodes:
            self.start(node)
        await self.wait_jetstream(timeout_s)

    async def wait_jetstream(self, timeout_s: float = 30.0) -> None:
        """Until the cluster answers JetStream requests (a meta leader is elected)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            try:
                nc = await nats.connect(self.urls.split(","), connect_timeout=1, max_reconnect_attempts=1)
                try:
                    await nc.jetstream(timeout=1).account_info()
                    return
                finally:
                    await nc.close()
            except Exception:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.3)

    def kill(self, name: str) -> None:
        node = next(n for n in self.nodes if n.name == name)
        if node.proc is not None and node.proc.poll() is None:
            os.kill(node.proc.pid, signal.SIGKILL)
            node.proc.wait()

    def stop_all(self) -> None:
        for node in self.nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.proc.wait(10)
                if node.proc.poll() is None:
                    node.proc.kill()
                    node.proc.wait()

    async def stream_leader(self, stream: str) -> str:
        nc = await nats.connect(self.urls.split(","), connect_timeout=1)
        try:
            info = await nc.jetstream(timeout=2).stream_info(stream)
            assert info.cluster is not None and info.cluster.leader
            return info.cluster.leader
        finally:
            await nc.close()
