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
from tongxin_platform.projection import Projection
from tongxin_platform.replay import EQUAL, Target, projection_target
from tongxin_platform.replay_run import replay_projection

pytestmark = pytest.mark.integration


def target(env: AgenciesEnv, model: Projection) -> Target:
    return projection_target(
        model,
        env.settings,
        env.pool,
        service="agencies",
        max_batch=7,
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
