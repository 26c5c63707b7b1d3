"""A new version of a service that changes a read model's tables rebuilds the model from
offset 0 on its next start, instead of answering 500s on a missing column (found upgrading
`make run`'s database to the v2 board: ``column "in_special_group" does not exist``)."""

from __future__ import annotations

import asyncpg

from tongxin_platform.projection import Projection, Table


def board(*extra: str, name: str = "shapes") -> Projection:
    columns = {"student_ref": "text NOT NULL", "school_id": "text NOT NULL"}
    columns.update(dict.fromkeys(extra, "boolean NOT NULL DEFAULT false"))
    return Projection(
        name,
        group=f"{name}.group",
        sources=["registry"],
        tables=[Table("students", ("student_ref",), columns)],
    )


async def state(conn: asyncpg.Connection, schema: str) -> tuple[set[str], int, int, int]:
    columns = {
        r["column_name"]
        for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = $1 AND table_name = 'students'",
            schema,
        )
    }
    rows = await conn.fetchval(f"SELECT count(*) FROM {schema}.students")
    offsets = await conn.fetchval(
        "SELECT count(*) FROM consumer_offsets WHERE group_id = $1", f"{schema}.group"
    )
    streams = await conn.fetchval(
        "SELECT count(*) FROM consumer_streams WHERE group_id = $1", f"{schema}.group"
    )
    return columns, rows, offsets, streams


async def fill(conn: asyncpg.Connection, schema: str) -> None:
    await conn.execute(f"INSERT INTO {schema}.students (student_ref, school_id) VALUES ('s1', 'a')")
    await conn.execute(
        "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset)"
        " VALUES ($1, 'registry.events', 0, 42)",
        f"{schema}.group",
    )
    await conn.execute(
        "INSERT INTO consumer_streams (group_id, source, stream_id, version)"
        " VALUES ($1, 'registry', 'student-s1', 3)",
        f"{schema}.group",
    )


async def test_a_changed_shape_drops_the_tables_and_forgets_the_offsets(migrated_db: str) -> None:
    conn = await asyncpg.connect(migrated_db)
    try:
        assert await board().ensure_tables(conn) is False  # new: created, nothing to reset
        await fill(conn, "shapes")
        assert await board().ensure_tables(conn) is False  # same shape: kept as it is
        assert await state(conn, "shapes") == ({"student_ref", "school_id"}, 1, 1, 1)

        assert await board("in_special_group").ensure_tables(conn) is True
        assert await state(conn, "shapes") == (
            {"student_ref", "school_id", "in_special_group"},
            0,
            0,
            0,
        )
    finally:
        await conn.close()


async def test_tables_made_before_shapes_were_recorded_are_compared_by_their_columns(
    migrated_db: str,
) -> None:
    conn = await asyncpg.connect(migrated_db)
    try:
        old = board(name="legacy")
        await old.create_tables(conn)  # what earlier versions did: no shape recorded
        await fill(conn, "legacy")
        assert await board(name="legacy").ensure_tables(conn) is False  # same columns: adopted
        assert (await state(conn, "legacy"))[1:] == (1, 1, 1)

        await conn.execute("DELETE FROM read_model_shapes WHERE schema_name = 'legacy'")
        assert await board("in_special_group", name="legacy").ensure_tables(conn) is True
        columns, rows, offsets, streams = await state(conn, "legacy")
        assert "in_special_group" in columns
        assert (rows, offsets, streams) == (0, 0, 0)
    finally:
        await conn.close()
