-- What entitlement keeps of the team service's directory, followed from
-- team's events and rebuilt from team when events were lost: the teams,
-- who is in each with their email and whether they are an admin.
-- Entitlement authorizes from it instead of asking team on every call.
CREATE TABLE directory_teams (
    team_id      TEXT PRIMARY KEY,
    display_name TEXT NOT NULL
);
CREATE TABLE directory_members (
    team_id    TEXT NOT NULL,
    account_id TEXT NOT NULL,
    email      TEXT NOT NULL,
    admin      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, account_id)
);
-- One row once the copy is whole (rebuilt from team's current state);
-- until then entitlement asks team.
CREATE TABLE directory_state (
    id       INTEGER PRIMARY KEY,
    complete INTEGER NOT NULL
);
