"""The generated district reaches the agencies service: every model reads every event of the
world from the run's topics (the fixture ``agencies_env`` waits for it)."""

from __future__ import annotations

from tests.support.agencies_env import AgenciesEnv
from tongxin_agencies.projections.models import MODELS


async def test_every_model_reads_the_whole_generated_world(agencies_env: AgenciesEnv) -> None:
    # given the world published and the worker running; when every group caught up
    await agencies_env.caught_up()
    rows = await agencies_env.pool.fetch(
        "SELECT group_id, sum(next_offset) AS n FROM consumer_offsets GROUP BY group_id"
    )
    read = {r["group_id"]: r["n"] for r in rows}
    # then each model's group has read as many records as were published on its topics (the
    # world's, and what live tests of the session added)
    published = agencies_env.publisher.positions
    assert sum(published.values()) >= len(agencies_env.world.events)
    for model in MODELS:
        expected = sum(published[s] for s in model.sources)
        assert read.get(model.group) == expected, model.group
