"""Where a running ``eldercare up`` can be reached, for the commands started beside it.

``eldercare up`` writes ``<data_dir>/run.json`` once the platform is up and removes it on a clean
stop: the broker address devices use (no platform password in it), the database URL, the console's
URL, the topic prefix and the process id. ``eldercare sim`` reads it, so a simulator started next
to the platform finds its broker and registry without flags. A file left by a killed process is
recognised by its dead process id and ignored.

The start-up also prints ready-to-paste ``mosquitto_sub`` / ``mosquitto_pub`` commands built here
(:func:`try_commands`) with the real port.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

from eldercare.processes import pid_alive

FILE_NAME = "run.json"


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A running platform, as its neighbours on the machine need it."""

    pid: int
    mqtt_host: str
    mqtt_port: int
    database_url: str
    console_url: str
    topic_prefix: str = "eldercare/v1"
    zigbee2mqtt_base: str = "zigbee2mqtt"

    @property
    def device_url(self) -> str:
        """How a device connects (anonymously on the embedded broker)."""
        return f"mqtt://{self.mqtt_host}:{self.mqtt_port}"


def path_in(data_dir: Path) -> Path:
    return Path(data_dir).expanduser().resolve() / FILE_NAME


def write(data_dir: Path, info: RunInfo) -> Path:
    """Write ``run.json`` atomically, readable by its owner only (it holds the database URL)."""
    path = path_in(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(info), handle, indent=1)
    temporary.replace(path)
    return path


def remove(data_dir: Path, pid: int | None = None) -> None:
    """Remove ``run.json`` (only when it is this process's, when ``pid`` is given)."""
    path = path_in(data_dir)
    if pid is not None:
        found = read(data_dir, check_alive=False)
        if found is not None and found.pid != pid:
            return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def read(data_dir: Path, *, check_alive: bool = True) -> RunInfo | None:
    """The running platform's ``run.json``; None when absent, unreadable or left by a dead process."""
    try:
        data = json.loads(path_in(data_dir).read_text())
        info = RunInfo(**data)
    except (OSError, ValueError, TypeError):
        return None
    if check_alive and not pid_alive(info.pid):
        return None
    return info


def try_commands(host: str, port: int, topic_prefix: str, device_id: str) -> list[str]:
    """Shell commands that play ``device_id``, an SOS button: hear its downlink, press it once.

    ``seq`` is the current epoch second, so pasting the press again is a new press, not a duplicate.
    """
    prefix = topic_prefix.strip("/")
    where = f"-h {shlex.quote(host)} -p {port}"
    payload = '"{\\"ts\\":$(date +%s%3N),\\"kind\\":\\"sos\\",\\"seq\\":$(date +%s)}"'
    return [
        f"mosquitto_sub {where} -t {shlex.quote(f'{prefix}/{device_id}/cmd')} -v &",
        f"mosquitto_pub {where} -q 1 -t {shlex.quote(f'{prefix}/{device_id}/alarm')} -m {payload}",
    ]
