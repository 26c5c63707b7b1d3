-- Reads of restricted records (personal data, wellbeing details): who, in which role, what, when.
CREATE TABLE access_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    role       text NOT NULL,
    scope      text NOT NULL,
    action     text NOT NULL,
    record     text NOT NULL,
    district   text NOT NULL DEFAULT '',  -- where the record lives, so district auditors see theirs
    purpose    text NOT NULL DEFAULT ''
);
CREATE INDEX access_log_by_record ON access_log (record, at);
CREATE INDEX access_log_by_actor ON access_log (actor, at);
