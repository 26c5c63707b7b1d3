"""Fixtures: real Kafka and PostgreSQL for every tier but unit/ and contract/.

Found in this order: environment variables → testcontainers (when Docker answers) → the
project's scripts. When none works the integration tests fail; they are never skipped.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.cleanup import UNIQUES, delete_topics, drop_databases, fresh_unique
from tests.support.services import database_of, settings_for, worker_of
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config, read_topics_file
from tongxin_platform.settings import service_database_url
from tongxin_platform.testing import Infra, provide_infra
from tongxin_registry.bootstrap import SERVICE as REGISTRY
from tongxin_registry.config import RegistrySettings
from tongxin_visits.bootstrap import SERVICE as VISITS
from tongxin_visits.config import VisitsSettings

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """The tests state development mode (published default secrets accepted with a warning, a
    master key generated under .data/keyring), as `make run` does, unless the environment says
    otherwise; the tests of production's refusals set it themselves."""
    os.environ.setdefault("TONGXIN_ENV", "development")


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    found = provide_infra(ROOT)
    yield found
    found.close()


@pytest.fixture(scope="session")
async def kafka(infra: Infra) -> AsyncIterator[str]:
    await ensure_topics(infra.kafka_bootstrap, read_topics_file(ROOT / "infra/kafka/topics.txt"))
    yield infra.kafka_bootstrap
    # What the session made goes with it (tests/support/cleanup.py says why). Best effort:
    # the session's results stand whatever happens here; what is left is only clutter.
    try:
        await delete_topics(infra.kafka_bootstrap, UNIQUES)
        await drop_databases(infra.database_url, UNIQUES)
    except Exception as exc:  # noqa: BLE001 - reported, never a test failure
        print(f"\ntest clean-up incomplete: {exc!r}")


@pytest.fixture
def unique() -> str:
    return fresh_unique()


@pytest.fixture
async def topic(kafka: str, unique: str) -> str:
    name = f"test-{unique}.events"
    await ensure_topics(kafka, [TopicSpec(name, 3, event_topic_config())])
    return name


@pytest.fixture
def database_name(unique: str) -> str:
    return f"t_{unique}"


@pytest.fixture
def database_url(infra: Infra, database_name: str) -> str:
    return service_database_url(infra.database_url, database_name)


@pytest.fixture
async def migrated_db(infra: Infra, database_name: str) -> str:
    """A fresh database with the platform's tables."""
    import asyncpg

    from tongxin_platform.db import ensure_database
    from tongxin_platform.migrations import migrate

    url = await ensure_database(infra.database_url, database_name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn, "tongxin_platform.sql")
    finally:
        await conn.close()
    return url


# --- the services of the kit (tests.support.services works for any of them) -----------------


@pytest.fixture
def registry_settings(infra: Infra, kafka: str, topic: str, database_name: str) -> RegistrySettings:
    settings = settings_for(
        REGISTRY, infra, database_name=database_name, topics={"registry": topic}
    )
    assert isinstance(settings, RegistrySettings)
    return settings


@pytest.fixture
async def visits_settings(
    infra: Infra, kafka: str, topic: str, unique: str, database_name: str
) -> VisitsSettings:
    """The visits service of the test: its own topic; the registry's is the test's ``topic``;
    wellbeing's (targeted visits) is ``test-<unique>-wellbeing.events``; committees' (answers
    to parents' suggestions) ``test-<unique>-committees.events``."""
    own, wellbeing = f"test-{unique}-visits.events", f"test-{unique}-wellbeing.events"
    committees = f"test-{unique}-committees.events"
    await ensure_topics(
        kafka, [TopicSpec(t, 3, event_topic_config()) for t in (own, wellbeing, committees)]
    )
    settings = settings_for(
        VISITS,
        infra,
        database_name=f"{database_name}_visits",
        topics={"visits": own, "registry": topic, "wellbeing": wellbeing, "committees": committees},
    )
    assert isinstance(settings, VisitsSettings)
    return settings


@pytest.fixture
async def visits_worker(visits_settings: VisitsSettings) -> AsyncIterator[None]:
    """The visits relay, board projection and shredding reaction, in the test's loop."""
    async with worker_of(VISITS, visits_settings):
        yield


@pytest.fixture
async def visits_db(visits_settings: VisitsSettings) -> AsyncIterator[asyncpg.Pool]:
    async with database_of(VISITS, visits_settings) as pool:
        yield pool


@pytest.fixture
async def registry_worker(registry_settings: RegistrySettings) -> AsyncIterator[None]:
    """The registry's relay and roster projection, running in the test's loop."""
    async with worker_of(REGISTRY, registry_settings):
        yield


@pytest.fixture
async def registry_db(registry_settings: RegistrySettings) -> AsyncIterator[asyncpg.Pool]:
    async with database_of(REGISTRY, registry_settings) as pool:
        yield pool


# --- tokens ---------------------------------------------------------------------------------

from collections.abc import Callable  # noqa: E402

from tongxin_platform.auth import Principal, Role, TokenVerifier, dev_keypair, mint  # noqa: E402

Bearer = Callable[..., dict[str, str]]


@pytest.fixture(scope="session")
def jwt_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A signing key of the test session's own (private.pem, public.pem)."""
    directory = tmp_path_factory.mktemp("jwt")
    dev_keypair(directory)
    return directory


@pytest.fixture(scope="session")
def jwt_keys(jwt_dir: Path) -> tuple[bytes, bytes]:
    return dev_keypair(jwt_dir)


@pytest.fixture(scope="session")
def verifier(jwt_keys: tuple[bytes, bytes]) -> TokenVerifier:
    return TokenVerifier(jwt_keys[1])


@pytest.fixture(scope="session")
def bearer(jwt_keys: tuple[bytes, bytes]) -> Bearer:
    """``bearer("head_teacher", district="330106", school=…, class_id=…)`` → request headers."""

    def make(
        role: str,
        district: str | None = None,
        school: str | None = None,
        class_id: str | None = None,
        subject: str | None = None,
    ) -> dict[str, str]:
        p = Principal(subject or f"test-{role}", Role(role), district, school, class_id)
        return {"Authorization": f"Bearer {mint(jwt_keys[0], p)}"}

    return make


@pytest.fixture
def officer(bearer: Bearer) -> dict[str, str]:
    """A district officer of the demo district: may import and read the roster."""
    return bearer("bureau_officer", district="330106")


from tests.support.agencies_env import agencies_env_fixture  # noqa: E402, F401 - ``agencies_env``
from tests.support.city_env import city_env_fixture  # noqa: E402, F401 - ``city_env``
