-- Responses to commands sent with an Idempotency-Key: a retry gets the first answer back.
CREATE TABLE idempotency_keys (
    key          text PRIMARY KEY,
    fingerprint  text  NOT NULL,
    status       integer NOT NULL,
    body         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
