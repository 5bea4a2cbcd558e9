-- R-SEAT-5: members a group assignment could not seat, waiting in the
-- order they came for a seat of that pool to free.
CREATE TABLE seat_waits (
    group_assignment_id TEXT NOT NULL,
    account_id          TEXT NOT NULL,
    email               TEXT NOT NULL,
    team_id             TEXT NOT NULL,
    product_id          TEXT NOT NULL,
    since               BIGINT NOT NULL,
    PRIMARY KEY (group_assignment_id, account_id)
);
CREATE INDEX seat_waits_pool ON seat_waits (team_id, product_id, since);
CREATE INDEX seat_waits_account ON seat_waits (team_id, account_id);
