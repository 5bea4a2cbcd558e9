-- Events wait here until the sequencer gives them a position and moves
-- them into `outbox`, which is then only ever appended to (and pruned).
-- Setting positions in place left every positioned row behind in the
-- partial index of unpositioned ones until vacuum, so each sequencer pass
-- got slower as events piled up.
CREATE TABLE outbox_pending (
    id          BIGSERIAL PRIMARY KEY,
    commit_key  BIGINT NOT NULL,
    event_id    TEXT NOT NULL UNIQUE,
    event_type  TEXT NOT NULL,
    team        TEXT,
    payload     BYTEA NOT NULL,
    create_time BIGINT NOT NULL
);
-- A small table that churns: vacuum it early and often.
ALTER TABLE outbox_pending SET (autovacuum_vacuum_threshold = 100, autovacuum_vacuum_scale_factor = 0);

INSERT INTO outbox_pending (commit_key, event_id, event_type, team, payload, create_time)
    SELECT commit_key, event_id, event_type, team, payload, create_time
    FROM outbox WHERE position IS NULL ORDER BY commit_key, id;
DELETE FROM outbox WHERE position IS NULL;
DROP INDEX outbox_unpositioned;
