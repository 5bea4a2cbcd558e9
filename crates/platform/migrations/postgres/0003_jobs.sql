-- Long-running jobs (CSV imports): the input, the progress, and a lease so
-- one worker at a time runs a job; a restarted service picks up every job
-- that is not done.
CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    scope          TEXT NOT NULL,
    kind           TEXT NOT NULL,
    creator        TEXT NOT NULL,
    creator_scopes TEXT NOT NULL,
    request_id     TEXT NOT NULL,
    validate_only  INTEGER NOT NULL,
    input          BYTEA NOT NULL,
    total_rows     BIGINT NOT NULL,
    processed      BIGINT NOT NULL,
    done           INTEGER NOT NULL,
    error_code     BIGINT,
    error_message  TEXT,
    lease_until    BIGINT NOT NULL,
    create_time    BIGINT NOT NULL,
    update_time    BIGINT NOT NULL
);
CREATE INDEX jobs_scope ON jobs (scope, create_time);
CREATE INDEX jobs_open ON jobs (done, lease_until);

-- Each row's outcome, written with the batch that handled it.
CREATE TABLE job_rows (
    job_id  TEXT NOT NULL,
    line    BIGINT NOT NULL,
    detail  TEXT NOT NULL,
    email   TEXT NOT NULL,
    outcome BIGINT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (job_id, line, detail)
);
