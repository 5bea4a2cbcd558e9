-- The transactional outbox: every change writes its events here in the same
-- transaction. `position` is assigned after commit by the sequencer, in the
-- order events become visible, so a reader never skips a late commit.
CREATE SEQUENCE outbox_commit_seq;
CREATE TABLE outbox (
    id          BIGSERIAL PRIMARY KEY,
    commit_key  BIGINT NOT NULL,
    position    BIGINT UNIQUE,
    event_id    TEXT NOT NULL UNIQUE,
    event_type  TEXT NOT NULL,
    team        TEXT,
    payload     BYTEA NOT NULL,
    create_time BIGINT NOT NULL
);
CREATE INDEX outbox_unpositioned ON outbox (commit_key, id) WHERE position IS NULL;

-- One row: the last position assigned, and the last one pruned. Sequencers
-- of several replicas serialise on its row lock.
CREATE TABLE outbox_state (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    head           BIGINT NOT NULL,
    retained_after BIGINT NOT NULL
);
INSERT INTO outbox_state (id, head, retained_after) VALUES (1, 0, 0);

-- Where each consumer of another service's stream has got to.
CREATE TABLE consumer_cursors (
    consumer    TEXT PRIMARY KEY,
    cursor      TEXT NOT NULL,
    update_time BIGINT NOT NULL
);

