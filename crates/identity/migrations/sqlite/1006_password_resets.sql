-- R-AUTH-2: single-use links to choose a new password, valid one hour.
-- Only a hash of each link's token is kept.
CREATE TABLE password_resets (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    token_hash TEXT NOT NULL UNIQUE,
    create_time BIGINT NOT NULL,
    expire_time BIGINT NOT NULL,
    used_time BIGINT
);
CREATE INDEX password_resets_of_account ON password_resets (account_id, create_time);
