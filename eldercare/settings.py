"""One settings object for the whole platform, read from ``ELDERCARE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from devices.protocol import HOME_UTC_OFFSET_MIN, TOPIC_PREFIX


class Settings(BaseSettings):
    """Every knob the platform has. Unset URLs mean: start the embedded broker and database."""

    model_config = SettingsConfigDict(env_prefix="ELDERCARE_", env_file=".env", extra="ignore")

    mqtt_url: str | None = Field(None, description="mqtt://[user:password@]host[:port]; unset: embedded broker")
    database_url: str | None = Field(None, description="postgresql://…; unset: embedded PostgreSQL")
    data_dir: Path = Field(Path("./data"), description="embedded database, broker state, secrets")

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    admin: str | None = Field(None, description="first admin as user:password; unset: generated once")
    token_ttl_s: int = Field(900, description="lifetime of an access token, seconds")
    field_key: str | None = Field(
        None, description="key(s) for protected resident fields, base64url, comma-separated; unset: data_dir/field.key"
    )
    secret_key: str | None = Field(None, description="token signing key; unset: generated into data_dir")
    log_json: bool = Field(False, description="JSON log lines instead of key=value")
    trusted_proxies: str = Field(
        "", description="proxy addresses/networks whose X-Forwarded-For is believed, comma-separated; unset: none"
    )
    notify_allowed_hosts: str = Field(
        "",
        description="hosts/networks on loopback, private or link-local addresses that notifications may reach"
        " (e.g. a local SMTP relay), comma-separated; unset: none",
    )
    login_address_limit: int = Field(
        100, description="failed logins from one address (any usernames) per 15 min before it must wait"
    )
    console_recheck_s: float = Field(5.0, description="how often an open console websocket re-checks its account")

    topic_prefix: str = TOPIC_PREFIX
    zigbee2mqtt_base: str = "zigbee2mqtt"
    gateway_client_id: str = "eldercare-gateway"
    max_payload_bytes: int = Field(256 * 1024, description="larger MQTT payloads are rejected")
    batch_max_events: int = Field(1024, description="events handed to the stream core at once")
    batch_linger_ms: float = Field(2.0, description="how long the gateway waits to fill a batch")
    dedup_capacity: int = Field(100_000, description="(device, seq) pairs remembered for duplicates")
    embedded_mqtt_port: int = 1883
    embedded_mqtt_ws_port: int = 0

    public_url: str | None = Field(
        None, description="base URL of responder and family links in notifications; unset: http://<host>:<port>"
    )
    home_utc_offset_min: int = Field(
        HOME_UTC_OFFSET_MIN,
        ge=-720,
        le=840,
        description="homes' local time, minutes east of UTC (UTC+8: 480); the console shows it",
    )
    hotline: str = Field("12349", description="the number outward pages and messages give people to call")
    stream_tick_s: float = Field(1.0, description="how often stream timers are advanced")
    snapshot_every_s: float = Field(
        30.0, gt=0, description="how often the stream state is saved (a crash loses at most this much of it)"
    )

    history_raw_days: int = Field(
        180, ge=1, description="raw device events kept this many days (dropped a whole partition/chunk at a time)"
    )
    history_aggregate_days: int = Field(1830, ge=1, description="hourly/daily aggregates kept this many days")
    history_months_ahead: int = Field(2, ge=1, le=24, description="plain PostgreSQL: monthly partitions made ahead")
    history_compress_after_days: int = Field(7, ge=1, description="TimescaleDB: chunks compressed after this many days")
    history_rollup_every_s: float = Field(
        60.0, gt=0, description="how often the alerts-per-area rollup is refreshed (retention checks: hourly)"
    )
    # scale-out (partitions/): resident partitions on NATS JetStream, see README "Scale-out"
    cluster: Literal["off", "jetstream"] = Field(
        "off", description="off: one process owns every resident; jetstream: the seam is the partitioned log"
    )
    nats_url: str | None = Field(
        None, description="nats://host:port[,nats://…] of the JetStream cluster; unset: the embedded broker's"
    )
    nats_replicas: int = Field(1, ge=1, le=5, description="copies of the log, leases and snapshots (3 on a cluster)")
    worker_id: str | None = Field(None, description="this worker's name in the leases; unset: <hostname>-<pid>")
    lease_ttl_s: float = Field(3.0, gt=0, description="a partition whose owner stops renewing is taken after this")
    partition_snapshot_every_s: float = Field(5.0, gt=0, description="how often each owned partition is snapshotted")
    timer_refresh_s: float = Field(
        5.0, gt=0, description="how often a worker picks up alert timers stored by other workers"
    )
    inactivity_fixed_s: float | None = Field(
        None,
        gt=0,
        description=(
            "the longest inactivity limit of a home still learning its routine (default 5 h; under it the"
            " population prior of 4 h narrowing to 2 h); drills and tests shorten it"
        ),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
