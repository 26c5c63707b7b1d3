-- Data keys wrapped by a master key held outside the database (tongxin_platform.keyring).
-- data_key holds the wrapped key (nonce + AES-256-GCM ciphertext) under master_key_id; a row
-- with master_key_id NULL predates wrapping: the service wraps it when it prepares its database
-- (tongxin_platform.crypto.wrap_plain_keys), before anything reads it.
ALTER TABLE subject_keys ADD COLUMN master_key_id text;
CREATE INDEX subject_keys_master_key_id ON subject_keys (master_key_id);
