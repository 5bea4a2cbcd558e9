-- R-AUTH-2: a person's sign-in sessions. Signing out or changing the
-- password ends them (end_time); every service refuses the tokens of an
-- ended session until they expire.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    create_time BIGINT NOT NULL,
    expire_time BIGINT NOT NULL,
    end_time BIGINT
);
CREATE INDEX sessions_of_account ON sessions (account_id);
CREATE INDEX sessions_by_end ON sessions (end_time);
