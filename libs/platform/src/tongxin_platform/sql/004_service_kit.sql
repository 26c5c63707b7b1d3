-- The service kit (issue 8).

-- Dedupe state is keyed by source as well: a group reading two services' topics may see the same
-- stream id from both (student-<ref> in the registry and in another service). The old rows name
-- no source; rather than guess it, consumers start over: a projection whose group has no stored
-- offsets empties its tables and rebuilds from offset 0 (tongxin_platform.projection).
DELETE FROM consumer_streams;
DELETE FROM consumer_offsets;
ALTER TABLE consumer_streams ADD COLUMN source text NOT NULL DEFAULT '';
ALTER TABLE consumer_streams DROP CONSTRAINT consumer_streams_pkey;
ALTER TABLE consumer_streams ADD PRIMARY KEY (group_id, source, stream_id);

-- What each group applied and dead-lettered, for /metrics (counters, committed with the effects).
ALTER TABLE consumer_offsets
    ADD COLUMN applied bigint NOT NULL DEFAULT 0,
    ADD COLUMN dead_lettered bigint NOT NULL DEFAULT 0;

-- Every dead letter, with its error: what an operator looks at after an alert.
CREATE TABLE dead_letters (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    group_id    text    NOT NULL,
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    "offset"    bigint  NOT NULL,
    error_type  text    NOT NULL,
    error       text    NOT NULL,
    attempts    integer NOT NULL
);
CREATE INDEX dead_letters_by_group ON dead_letters (group_id, at);

-- Idempotency keys belong to one caller, and are recorded in the command's own transaction
-- (status 0 until the command's answer is written, in the same transaction).
ALTER TABLE idempotency_keys ADD COLUMN scope text NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (scope, key);

-- Streams grouped under a tag (e.g. every stream of a school): a command reads a tag's events
-- straight from the store.
CREATE TABLE stream_tags (
    tag       text NOT NULL,
    stream_id text NOT NULL,
    PRIMARY KEY (tag, stream_id)
);
