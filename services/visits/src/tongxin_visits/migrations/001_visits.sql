-- Which streams belong to which school: the monthly figures are computed from the event store
-- itself (not from a projection that may lag), by reading these streams.
CREATE TABLE school_streams (
    school_id text NOT NULL,
    stream_id text NOT NULL,
    PRIMARY KEY (school_id, stream_id)
);

-- One-time codes by which a family confirms a visit. Only a hash is kept; a code works once,
-- until it expires, and locks after a few wrong tries.
CREATE TABLE family_codes (
    visit_id   text PRIMARY KEY,
    code_hash  bytea       NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0,
    used_at    timestamptz
);

-- Development stand-in for the SMS gateway: the messages a family would receive.
CREATE TABLE family_inbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guardian_ref text        NOT NULL,
    visit_id     text        NOT NULL,
    message      text        NOT NULL,
    sent_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX family_inbox_by_visit ON family_inbox (visit_id);
