-- Family codes: a per-code random salt (HMAC-SHA256 keyed by it), the number of codes sent
-- per visit, and a log of sends (the per-staff daily limit on re-sends). The attempts column now counts a
-- visit's wrong codes over all its codes: a re-send no longer resets it.
--
-- Codes issued before this migration were hashed without a salt and cannot be checked any
-- more: they are expired here (codes live a week; the teacher sends a new one, which counts as
-- the visit's second send). Their attempts and used_at stay, so no lock is lifted.
ALTER TABLE family_codes
    ADD COLUMN salt  bytea   NOT NULL DEFAULT '',
    ADD COLUMN sends integer NOT NULL DEFAULT 1;
ALTER TABLE family_codes ALTER COLUMN salt DROP DEFAULT, ALTER COLUMN sends DROP DEFAULT;
UPDATE family_codes SET expires_at = least(expires_at, now()) WHERE salt = '';

CREATE TABLE family_code_sends (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visit_id  text        NOT NULL,
    issued_by text        NOT NULL,
    sent_at   timestamptz NOT NULL,
    resend    boolean     NOT NULL  -- the visit's second or later code
);
CREATE INDEX family_code_sends_by_issuer ON family_code_sends (issued_by, sent_at);
