-- The event store of one service: append-only events, a global position, per-stream hash chain.
CREATE TABLE events (
    position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       uuid        NOT NULL UNIQUE,
    stream_id      text        NOT NULL,
    version        integer     NOT NULL CHECK (version > 0),
    event_type     text        NOT NULL,
    district       text        NOT NULL,
    recorded_at    timestamptz NOT NULL,
    payload        bytea       NOT NULL,   -- the exact JSON bytes published; the hash covers them
    prev_hash      bytea,
    hash           bytea       NOT NULL,
    traceparent    text        NOT NULL DEFAULT '',
    correlation_id text        NOT NULL DEFAULT '',
    causation_id   text        NOT NULL DEFAULT '',
    UNIQUE (stream_id, version)
);

-- Events are facts: the store refuses to change or delete them.
CREATE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable (% on events refused)', TG_OP;
END $$;
CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_immutable();

-- Rows not yet published. The relay reads them in position order; a transaction that took a
-- lower position but commits late is still here on the next poll, so it is never skipped.
CREATE TABLE outbox (
    position bigint PRIMARY KEY REFERENCES events (position),
    topic    text   NOT NULL
);

-- Consumers: Kafka offsets committed with the effect, and per-stream high-water marks that
-- drop duplicates the relay may publish after a failure.
CREATE TABLE consumer_offsets (
    group_id    text    NOT NULL,
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);
CREATE TABLE consumer_streams (
    group_id  text    NOT NULL,
    stream_id text    NOT NULL,
    version   integer NOT NULL,
    PRIMARY KEY (group_id, stream_id)
);

-- Per-subject data keys (crypto-shredding: erasing a subject deletes its key).
CREATE TABLE subject_keys (
    subject    text  PRIMARY KEY,
    key_id     uuid  NOT NULL UNIQUE,
    data_key   bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
