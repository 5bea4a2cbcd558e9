-- The transactional outbox: every change writes its events here in the same
-- transaction. `position` is assigned after commit by the sequencer, in the
-- order events become visible, so a reader never skips a late commit.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    commit_key  INTEGER NOT NULL,
    position    INTEGER UNIQUE,
    event_id    TEXT NOT NULL UNIQUE,
    event_type  TEXT NOT NULL,
    team        TEXT,
    payload     BLOB NOT NULL,
    create_time INTEGER NOT NULL
);
CREATE INDEX outbox_unpositioned ON outbox (commit_key, id) WHERE position IS NULL;
CREATE INDEX outbox_commit_key ON outbox (commit_key);

-- One row: the last position assigned, and the last one pruned.
CREATE TABLE outbox_state (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    head           INTEGER NOT NULL,
    retained_after INTEGER NOT NULL
);
INSERT INTO outbox_state (id, head, retained_after) VALUES (1, 0, 0);

-- Where each consumer of another service's stream has got to.
CREATE TABLE consumer_cursors (
    consumer    TEXT PRIMARY KEY,
    cursor      TEXT NOT NULL,
    update_time INTEGER NOT NULL
);

