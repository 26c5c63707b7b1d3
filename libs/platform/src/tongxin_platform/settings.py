"""Settings shared by every service, read from the environment (nothing at import time)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, TypeAdapter
from pydantic_settings import BaseSettings, SettingsConfigDict

from tongxin_contracts import TOPICS
from tongxin_platform.notify import Routes, Webhook

DEFAULT_KAFKA = "127.0.0.1:19092"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:15432/postgres"
_WEBHOOKS = TypeAdapter(dict[str, list[Webhook]])


class PlatformSettings(BaseSettings):
    """Where Kafka and PostgreSQL are; services subclass this with their own prefix."""

    model_config = SettingsConfigDict(extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default=DEFAULT_KAFKA, validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    database_url: str = Field(default=DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    topic_replication_factor: int = Field(default=1, validation_alias="TONGXIN_REPLICATION_FACTOR")
    # --- Secrets (tongxin_platform.secrets, tongxin_platform.keyring) ---------------------------
    # Production unless stated otherwise: published default secrets are refused, the master keys
    # must exist. Development (``make run``, the tests) tolerates defaults with a warning and
    # generates a master key under .data/keyring on first start.
    environment: Literal["production", "development"] = Field(
        default="production", validation_alias="TONGXIN_ENV"
    )
    # The directory of the master keys that wrap every subject's data key (one file per key id,
    # CURRENT names the one new keys are wrapped with). Empty: <repo>/.data/keyring in
    # development; required in production.
    keyring_dir: str = Field(default="", validation_alias="TONGXIN_KEYRING_DIR")
    # --- Notifications (tongxin_platform.notify) ---------------------------------------------
    # The group robots of each district, as JSON: {"330106": [{"kind": "wecom", "url":
    # "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY"}, {"kind": "dingtalk", "url":
    # "https://oapi.dingtalk.com/robot/send?access_token=TOKEN", "secret": "SEC…"}]}. A district
    # with none: its alerts go to the development inbox in development, and are recorded failed
    # ("no webhook configured for district X") in production.
    alert_webhooks: str = Field(default="", validation_alias="TONGXIN_ALERT_WEBHOOKS")

    def webhooks(self) -> dict[str, list[Webhook]]:
        """``TONGXIN_ALERT_WEBHOOKS``, parsed (a malformed value raises, naming it)."""
        if not self.alert_webhooks.strip():
            return {}
        try:
            return _WEBHOOKS.validate_json(self.alert_webhooks)
        except ValueError as exc:
            raise ValueError(f"TONGXIN_ALERT_WEBHOOKS: {exc}") from exc

    def routes(self) -> Routes:
        """Where notifications of this deployment go."""
        return Routes(self.webhooks(), development=self.environment == "development")

    def ledger_stream_ids(self) -> Callable[[str], str] | None:
        """How the consumer ledger stores the ids of the streams it has read (their versions
        drop duplicates): None keeps them as they are; a service that must never keep a person
        (a stream id may be a pseudonym's) returns a keyed one-way mark."""
        return None

    def check_secrets(self) -> None:
        """Refuse to run on secrets anyone can know (outside development); subclasses add their
        own with ``tongxin_platform.secrets.require_secret``. Raises ``InsecureSettingError``."""
        from tongxin_platform.keyring import keyring_of  # the keyring module reads settings

        keyring_of(self)

    # ---------------------------------------------------------------------------------------------


def service_database_url(server_url: str, database: str) -> str:
    """The URL of one service's own database on the server ``server_url`` points to."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


class ServiceSettings(PlatformSettings):
    """What every service reads, under its own prefix (``VISITS_HTTP_PORT``…); a service
    subclasses it, sets ``model_config``'s ``env_prefix`` and the defaults, and adds its own.

    Topics: ``topic`` is the service's own; a topic it reads from another service is
    ``<service>_topic`` when the subclass declares it (tests give each run its own topics),
    else the fixed name of ``tongxin_contracts.TOPICS``.
    """

    service: ClassVar[str] = ""

    database_name: str = ""
    topic: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = 0
    # The worker's own HTTP port (/metrics, /health, /asyncapi); 0: none.
    worker_http_port: int = 0
    pool_size: int = 10
    # Records per partition fetch applied in one transaction by each consumer group.
    projection_batch_size: int = 1000
    # Districts that run their own Kafka cluster reach this one through MirrorMaker 2, whose
    # default replication policy names a copy ``<alias>.<topic>``: the aliases listed here
    # (``<SERVICE>_MIRRORS='["d2"]'``) are read too, beside the local topic, by every projection
    # and reaction of the service (``topics_of``).
    mirrors: list[str] = Field(default_factory=list)
    # --- bounds on trouble (seconds; <SERVICE>_DATABASE_CONNECT_TIMEOUT…) ---
    # PostgreSQL: opening a connection, one statement, waiting for a pooled connection. A
    # request that hits one answers 503 problem+json with Retry-After instead of hanging.
    database_connect_timeout: float = Field(default=3.0, gt=0)
    database_command_timeout: float = Field(default=5.0, gt=0)
    database_acquire_timeout: float = Field(default=3.0, gt=0)
    # The worker records a heartbeat of its relay and of each consumer group this often; one
    # older than ``worker_stale_after`` is stale (``/ready``'s body, ``tongxin status``).
    worker_heartbeat_interval: float = Field(default=5.0, gt=0)
    worker_stale_after: float = Field(default=20.0, gt=0)
    # --- deadlines and notifications (tongxin_platform.deadlines, .delivery) ---
    # The worker's deadline part claims due rows this often, at most ``deadline_batch_size``
    # per transaction.
    deadline_poll_interval: float = Field(default=1.0, gt=0)
    deadline_batch_size: int = Field(default=100, gt=0)
    # Its delivery part: polls this often; a failed send is retried after
    # min(notify_backoff_cap, notify_backoff_base · 2^(attempts-1)) seconds, and recorded failed
    # after ``notify_max_attempts``; each send waits at most ``notify_timeout``.
    notify_poll_interval: float = Field(default=1.0, gt=0)
    notify_batch_size: int = Field(default=50, gt=0)
    notify_backoff_base: float = Field(default=2.0, gt=0)
    notify_backoff_cap: float = Field(default=300.0, gt=0)
    notify_max_attempts: int = Field(default=8, ge=1)
    notify_timeout: float = Field(default=5.0, gt=0)
    # The service's public base URL, for the links in messages (default: its own address).
    public_url: str = ""

    def public_link(self, path: str) -> str:
        """The absolute URL of ``path`` on this service's API."""
        base = self.public_url or f"http://{self.http_host}:{self.http_port}"
        return f"{base.rstrip('/')}/{path.lstrip('/')}"

    def topics_of(self, service: str) -> list[str]:
        """The topic of ``service`` and its MirrorMaker 2 copies from ``mirrors``' clusters."""
        topic = self.topic_of(service)
        return [topic, *(f"{alias}.{topic}" for alias in self.mirrors)]

    def topic_of(self, service: str) -> str:
        if service == self.service:
            return self.topic or TOPICS[service]
        named = getattr(self, f"{service}_topic", None)
        return str(named) if named else TOPICS[service]
