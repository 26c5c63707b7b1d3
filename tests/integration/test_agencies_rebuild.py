"""A rebuild of every agency's read model from offset 0 equals the live one: the kit's replay
(``tongxin_platform.replay_run.replay_projection``, what ``tongxin-agencies replay`` runs) reads
each model's topics with a fresh consumer group into a fresh schema, in batches of 7 records
(the live worker folds larger ones), and compares the two by digest, table by table."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from tests.support.agencies_env import AgenciesEnv
from tongxin_agencies.projections.models import MODELS
from tongxin_contracts import default_registry
from tongxin_platform.consumer import ConsumerRuntime
from tongxin_platform.projection import Projection
from tongxin_platform.replay import EQUAL, Target
from tongxin_platform.replay_run import replay_projection

pytestmark = pytest.mark.integration


def target(env: AgenciesEnv, model: Projection) -> Target:
    topics = tuple(env.settings.topic_of(s) for s in model.sources)

    def consumer(group: str, schema: str) -> ConsumerRuntime:
        return ConsumerRuntime(
            group=group,
            topics=topics,
            registry=default_registry(),
            bootstrap=env.settings.kafka_bootstrap_servers,
            pool=env.pool,
            apply=model.apply_to(schema),
            handles=model.handles,
            max_batch=7,
            service="agencies",
        )

    return Target(
        topics=topics,
        live_schema=model.schema,
        live_group=model.group,
        create_tables=model.create_tables,
        digest=model.digest,
        tables=tuple(model.tables),
        consumer=consumer,
    )


@pytest.mark.parametrize("model", MODELS, ids=[m.name for m in MODELS])
async def test_a_rebuild_of_the_model_from_offset_0_equals_the_live_one(
    agencies_env: AgenciesEnv, model: Projection
) -> None:
    # given the live model caught up with the generated world
    await agencies_env.caught_up()
    async with agencies_env.pool.acquire() as conn:
        rows = sum(
            [await conn.fetchval(f"SELECT count(*) FROM {model.schema}.{t}") for t in model.tables]
        )
    assert rows > 0, f"the live {model.name} model is empty"
    # when it is rebuilt from offset 0 into a fresh schema
    out = io.StringIO()
    console = Console(file=out, width=200)
    code = await replay_projection(
        agencies_env.pool,
        agencies_env.settings.kafka_bootstrap_servers,
        target(agencies_env, model),
        swap_in=False,
        deadline=time.monotonic() + 120,
        console=console,
        out=console,
    )
    # then every table's digest equals the live one's
    assert code == EQUAL, out.getvalue()
