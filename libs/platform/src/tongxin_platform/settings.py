"""Settings shared by every service, read from the environment (nothing at import time)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_KAFKA = "127.0.0.1:19092"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:15432/postgres"


class PlatformSettings(BaseSettings):
    """Where Kafka and PostgreSQL are; services subclass this with their own prefix."""

    model_config = SettingsConfigDict(extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default=DEFAULT_KAFKA, validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    database_url: str = Field(default=DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    topic_replication_factor: int = Field(default=1, validation_alias="TONGXIN_REPLICATION_FACTOR")


def service_database_url(server_url: str, database: str) -> str:
    """The URL of one service's own database on the server ``server_url`` points to."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))
