CREATE TABLE teams (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    -- The contract owner a team was created for automatically (R-TEAM-1).
    owner        TEXT,
    plan         TEXT NOT NULL DEFAULT 'STANDARD' CHECK (plan IN ('STANDARD', 'PREMIUM')),
    create_time  INTEGER NOT NULL
);

-- Memberships, with a copy of the person's name and email (kept current
-- from identity's events) so member lists need no call to identity.
CREATE TABLE members (
    team_id     TEXT NOT NULL REFERENCES teams (id),
    account_id  TEXT NOT NULL,
    email       TEXT NOT NULL,
    email_key   TEXT NOT NULL,
    given_name  TEXT NOT NULL,
    family_name TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('PRIMARY_ADMIN', 'SECONDARY_ADMIN', 'SSO_ADMIN', 'USER')),
    guest       INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL CHECK (state IN ('INVITED', 'ACTIVE')),
    invitation  TEXT,
    create_time INTEGER NOT NULL,
    PRIMARY KEY (team_id, account_id)
);
-- R-ROLE-1: never two primary admins in a team.
CREATE UNIQUE INDEX members_one_primary_admin ON members (team_id) WHERE role = 'PRIMARY_ADMIN';
CREATE INDEX members_account ON members (account_id);
CREATE INDEX members_email ON members (team_id, email_key);

CREATE TABLE groups (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES teams (id),
    display_name TEXT NOT NULL,
    create_time  INTEGER NOT NULL
);
CREATE INDEX groups_team ON groups (team_id);

CREATE TABLE group_members (
    group_id   TEXT NOT NULL REFERENCES groups (id),
    account_id TEXT NOT NULL,
    PRIMARY KEY (group_id, account_id)
);
