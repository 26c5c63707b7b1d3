"""Replaying the visits board from offset 0 never repeats a write-side effect: the shredding on
erasure is a reaction of its own group, so a rebuild that goes past ``SubjectErased`` again
leaves a key made after the erasure alone."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import Bearer
from tests.integration.test_erasure_reaction import (
    erase_and_wait_for_the_shredding,
    keys_of,
    of_type,
    visit_with_notes,
)
from tests.integration.test_visits_replay import invoke, wait_for_the_board
from tests.support.kafka_reader import read_all
from tests.support.world import world
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.crypto import KeyStore
from tongxin_registry.config import RegistrySettings
from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints.cli import app as tongxin_visits

pytestmark = pytest.mark.integration


async def test_a_board_replay_past_an_erasure_keeps_a_key_made_after_it(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
    registry_db: asyncpg.Pool,
    visits_db: asyncpg.Pool,
    unique: str,
) -> None:
    async with world(registry_settings, visits_settings, verifier, bearer) as w:
        student, _, _, _ = await visit_with_notes(w)
        await erase_and_wait_for_the_shredding(w, visits_db, student, f"erasure-{unique}")
        await wait_for_the_board(registry_db, visits_db, visits_settings)

    # A key for the same subject, made after the erasure was handled.
    async with visits_db.acquire() as conn:
        await KeyStore().keys_for(conn, [student])
    assert await keys_of(visits_db, student) == 1

    result = await invoke(tongxin_visits, ["replay", "--timeout", "120"], visits_settings)
    assert result.exit_code == 0, result.output
    assert "digests are equal" in result.stdout

    # The rebuild did go past the erasure (its group's stored offset is beyond the record)…
    (erasure,) = of_type(
        await read_all(visits_settings.kafka_bootstrap_servers, registry_settings.topic),
        "SubjectErased",
        student,
    )
    rebuilt_at = await visits_db.fetchval(
        "SELECT next_offset FROM consumer_offsets WHERE group_id LIKE 'visits.board.rebuild.%'"
        " AND topic = $1 AND partition = $2",
        erasure.topic,
        erasure.partition,
    )
    assert rebuilt_at is not None, "the replay stored no offset where the erasure is"
    assert rebuilt_at > erasure.offset, "the replay did not reach the student's SubjectErased"
    # …and did not delete the key again.
    assert await keys_of(visits_db, student) == 1, "the board replay deleted a subject key"
