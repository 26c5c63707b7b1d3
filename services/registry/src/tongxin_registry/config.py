"""Registry settings: ``REGISTRY_*`` variables, plus the platform's ``KAFKA_BOOTSTRAP_SERVERS``
and ``DATABASE_URL``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from tongxin_platform.secrets import require_secret
from tongxin_platform.settings import ServiceSettings

# Development only (TONGXIN_ENV=development): production refuses to start on it and must set
# REGISTRY_PSEUDONYM_SECRET (pseudonyms are keyed hashes: whoever knows the secret recomputes them).
DEV_SECRET = "dev-only-pseudonym-secret-do-not-use-in-production"  # noqa: S105


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")
    service: ClassVar[str] = "registry"

    database_name: str = "tongxin_registry"
    # The topic is fixed in production (registry.events); tests give each run its own.
    topic: str = "registry.events"
    http_port: int = 8001
    worker_http_port: int = 9001
    pseudonym_secret: SecretStr = SecretStr(DEV_SECRET)

    def check_secrets(self) -> None:
        super().check_secrets()
        self.pseudonym_key()

    def pseudonym_key(self) -> bytes:
        """The pseudonym secret, refused outside development when it is the published default,
        empty or short."""
        return require_secret(
            self, "REGISTRY_PSEUDONYM_SECRET", self.pseudonym_secret, published={DEV_SECRET}
        )
