-- Deadlines and notifications (issue 10; tongxin_platform.deadlines, tongxin_platform.notify).

-- A deadline is a row, not a timer: set in a command's transaction, fired once by the worker's
-- deadline part (claimed FOR UPDATE SKIP LOCKED, its effects and fired_at committed together).
-- A cancelled deadline is deleted; a fired one stays, so setting it again does not re-arm it.
CREATE TABLE deadlines (
    kind       text        NOT NULL,
    key        text        NOT NULL,
    due_at     timestamptz NOT NULL,
    payload    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    fired_at   timestamptz,
    -- a handler that raised: the row stays due and is tried again on the next poll
    attempts   integer     NOT NULL DEFAULT 0,
    last_error text,
    PRIMARY KEY (kind, key)
);
CREATE INDEX deadlines_due ON deadlines (due_at) WHERE fired_at IS NULL;

-- Messages to people (staff group robots, guardians): one row per notice and target, so that a
-- failing robot does not make a healthy one receive the message again. ``target`` names the
-- configured webhook (its kind and a digest of its URL), never its key or secret.
CREATE TABLE notifications (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key             text        NOT NULL,  -- the notice's dedupe key
    target          text        NOT NULL,  -- e.g. 'wecom:1f2e3d4c5b6a', 'inbox', 'none'
    target_kind     text        NOT NULL CHECK (target_kind IN ('wecom', 'dingtalk', 'inbox', 'none')),
    channel         text        NOT NULL CHECK (channel IN ('alert', 'guardian')),
    district        text        NOT NULL,
    school          text,
    kind            text        NOT NULL,
    title           text        NOT NULL,
    text            text        NOT NULL,
    link            text        NOT NULL,
    recipient       text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    delivered_at    timestamptz,
    failed_at       timestamptz,
    last_error      text,
    UNIQUE (key, target)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX notifications_failed ON notifications (failed_at) WHERE failed_at IS NOT NULL;

-- The development inbox: the guardian channel's stand-in for an SMS gateway, and where alerts of
-- a district without a webhook go in development (GET /message-inbox, operators).
CREATE TABLE message_inbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key             text        NOT NULL UNIQUE,  -- the notice's key: written once
    at              timestamptz NOT NULL DEFAULT now(),
    channel         text        NOT NULL,
    district        text        NOT NULL,
    school          text,
    recipient       text,
    kind            text        NOT NULL,
    title           text        NOT NULL,
    text            text        NOT NULL,
    link            text        NOT NULL
);
CREATE INDEX message_inbox_by_district ON message_inbox (district, id);

-- The worker's new parts beat like the relay and the consumer groups.
ALTER TABLE worker_liveness DROP CONSTRAINT worker_liveness_kind_check;
ALTER TABLE worker_liveness ADD CONSTRAINT worker_liveness_kind_check
    CHECK (kind IN ('relay', 'consumer', 'deadlines', 'notifications'));
