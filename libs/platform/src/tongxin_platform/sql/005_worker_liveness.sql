-- Heartbeats of a service's worker: its outbox relay ('relay') and each consumer group (its
-- group id), written every few seconds by the worker while that part runs. /ready shows them,
-- with each group's lag; `tongxin status` reports a stale one.
CREATE TABLE IF NOT EXISTS worker_liveness (
    part text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('relay', 'consumer')),
    beat_at timestamptz NOT NULL,
    started_at timestamptz NOT NULL,
    pid integer NOT NULL,
    host text NOT NULL
);
