-- Long-running jobs (CSV imports, R-INV-5): the input, the progress, and
-- a lease so one worker at a time runs a job; a restarted server picks up
-- every job that is not done.
CREATE TABLE operations (
    id            TEXT PRIMARY KEY,
    team_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    creator       TEXT NOT NULL,
    creator_scopes TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    validate_only INTEGER NOT NULL,
    input         BLOB NOT NULL,
    total_rows    INTEGER NOT NULL,
    processed     INTEGER NOT NULL,
    done          INTEGER NOT NULL,
    error_code    INTEGER,
    error_message TEXT,
    lease_until   BIGINT NOT NULL,
    create_time   BIGINT NOT NULL,
    update_time   BIGINT NOT NULL
);
CREATE INDEX operations_team ON operations (team_id, create_time);
CREATE INDEX operations_open ON operations (done, lease_until);

-- Each row's outcome, written with the batch that handled it.
CREATE TABLE operation_rows (
    operation_id TEXT NOT NULL,
    line         INTEGER NOT NULL,
    email        TEXT NOT NULL,
    outcome      INTEGER NOT NULL,
    message      TEXT NOT NULL,
    PRIMARY KEY (operation_id, line)
);
