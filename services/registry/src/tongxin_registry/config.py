"""Registry settings: ``REGISTRY_*`` variables, plus the platform's ``KAFKA_BOOTSTRAP_SERVERS``
and ``DATABASE_URL``."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from tongxin_platform.settings import PlatformSettings

# Development only: production sets REGISTRY_PSEUDONYM_SECRET (pseudonyms are keyed hashes).
DEV_SECRET = "dev-only-pseudonym-secret-do-not-use-in-production"  # noqa: S105


class RegistrySettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    database_name: str = "tongxin_registry"
    # The topic is fixed in production (registry.events); tests give each run its own.
    topic: str = "registry.events"
    http_host: str = "127.0.0.1"
    http_port: int = 8001
    pseudonym_secret: SecretStr = SecretStr(DEV_SECRET)
    pool_size: int = 10
    # Records per partition applied in one transaction by the roster projection.
    projection_batch_size: int = 1000
