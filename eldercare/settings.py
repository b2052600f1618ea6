"""One settings object for the whole platform, read from ``ELDERCARE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    topic_prefix: str = "eldercare/v1"
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
        480, ge=-720, le=840, description="homes' local time, minutes east of UTC (UTC+8: 480); the console shows it"
    )
    hotline: str = Field("12349", description="the number outward pages and messages give people to call")
    stream_tick_s: float = Field(1.0, description="how often stream timers are advanced")
    snapshot_every_s: float = Field(
        30.0, gt=0, description="how often the stream state is saved (a crash loses at most this much of it)"
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
