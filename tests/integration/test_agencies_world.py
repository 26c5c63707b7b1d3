"""The generated district reaches the agencies service: every model reads every event of the
world from the run's topics (the fixture ``agencies_env`` waits for it)."""

from __future__ import annotations

from tests.support.agencies_env import AgenciesEnv
from tongxin_agencies.projections.models import MODELS


async def test_every_model_reads_the_whole_generated_world(agencies_env: AgenciesEnv) -> None:
    # given the world published and the worker running; when every group caught up
    rows = await agencies_env.pool.fetch(
        "SELECT group_id, sum(next_offset) AS n FROM consumer_offsets GROUP BY group_id"
    )
    read = {r["group_id"]: r["n"] for r in rows}
    # then each model's group has read as many records as its topics hold of the world
    by_service = agencies_env.world.by_service()
    for model in MODELS:
        expected = sum(len(by_service[s]) for s in model.sources)
        assert read.get(model.group) == expected, model.group
