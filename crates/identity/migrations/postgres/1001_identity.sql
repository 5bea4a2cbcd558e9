-- People. email_key is the lower-case address: emails are unique and
-- compared case-insensitively.
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,
    given_name    TEXT NOT NULL,
    family_name   TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('INVITED', 'ACTIVE')),
    bootstrap     INTEGER NOT NULL DEFAULT 0,
    create_time   BIGINT NOT NULL,
    activate_time BIGINT
);

-- Invitations. A pending one past expire_time is expired.
CREATE TABLE invitations (
    id                   TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL REFERENCES accounts (id),
    team                 TEXT NOT NULL,
    team_display_name    TEXT NOT NULL,
    inviter              TEXT NOT NULL,
    inviter_display_name TEXT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('PENDING', 'ACCEPTED', 'REVOKED')),
    generation           INTEGER NOT NULL,
    create_time          BIGINT NOT NULL,
    expire_time          BIGINT NOT NULL,
    accept_time          BIGINT
);
-- At most one pending invitation per account: it is what activates it.
CREATE UNIQUE INDEX invitations_one_pending ON invitations (account_id) WHERE state = 'PENDING';
CREATE INDEX invitations_team ON invitations (team, create_time);

-- Hashes of every accept token ever issued, so a voided one can be told
-- apart from one that never existed. The tokens themselves are not stored.
CREATE TABLE invitation_tokens (
    token_hash    TEXT PRIMARY KEY,
    invitation_id TEXT NOT NULL REFERENCES invitations (id),
    generation    INTEGER NOT NULL
);

CREATE TABLE service_accounts (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    create_time  BIGINT NOT NULL
);

-- Client credentials of service accounts and people. Only the secret's
-- hash is stored. Scopes of a person's key; a service account's keys carry
-- the account's scopes.
CREATE TABLE credentials (
    id            TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL UNIQUE,
    owner         TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    create_time   BIGINT NOT NULL,
    last_use_time BIGINT
);
CREATE INDEX credentials_owner ON credentials (owner);
