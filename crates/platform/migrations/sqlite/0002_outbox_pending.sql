-- Events wait here until the sequencer gives them a position and moves
-- them into `outbox`, which is then only ever appended to (and pruned).
-- Setting positions in place left every positioned row behind in the
-- partial index of unpositioned ones until vacuum, so each sequencer pass
-- got slower as events piled up.
CREATE TABLE outbox_pending (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    commit_key  INTEGER NOT NULL,
    event_id    TEXT NOT NULL UNIQUE,
    event_type  TEXT NOT NULL,
    team        TEXT,
    payload     BLOB NOT NULL,
    create_time INTEGER NOT NULL
);
CREATE INDEX outbox_pending_commit_key ON outbox_pending (commit_key);

INSERT INTO outbox_pending (commit_key, event_id, event_type, team, payload, create_time)
    SELECT commit_key, event_id, event_type, team, payload, create_time
    FROM outbox WHERE position IS NULL ORDER BY commit_key, id;
DELETE FROM outbox WHERE position IS NULL;
DROP INDEX outbox_unpositioned;
