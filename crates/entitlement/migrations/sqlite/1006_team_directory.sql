-- What entitlement keeps of the team service's directory, followed from
-- team's events and rebuilt from team when events were lost: the teams,
-- who is in each with their email and whether they are an admin.
-- Entitlement authorizes from it instead of asking team on every call.
-- Every row carries the position in team's stream of the event that
-- wrote it (0: the rebuild); an event older than the row changes nothing,
-- so events applied twice, late or out of order (a parked event retried,
-- another replica) never undo a newer change.
CREATE TABLE directory_teams (
    team_id        TEXT PRIMARY KEY,
    display_name   TEXT NOT NULL,
    event_position INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE directory_members (
    team_id    TEXT NOT NULL,
    account_id TEXT NOT NULL,
    email      TEXT NOT NULL,
    admin      INTEGER NOT NULL DEFAULT 0,
    -- 0: removed from the team (kept so an older event cannot bring them back).
    present    INTEGER NOT NULL DEFAULT 1,
    event_position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, account_id)
);
-- One row once the copy is whole (rebuilt from team's current state);
-- until then entitlement asks team. `fresh_from`: team's stream position
-- after the rebuild read its last page; the copy is exact (and read) once
-- the consumer has applied the stream up to it.
CREATE TABLE directory_state (
    id         INTEGER PRIMARY KEY,
    complete   INTEGER NOT NULL,
    fresh_from INTEGER NOT NULL DEFAULT 0
);
