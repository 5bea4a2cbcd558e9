-- The persistent mail queue and delivery log. One row per logical email:
-- dedupe_key makes an event that arrives twice enqueue one email, and
-- message_id stays the same across every attempt (R-MAIL-5).
CREATE TABLE deliveries (
    id                TEXT PRIMARY KEY,
    dedupe_key        TEXT NOT NULL UNIQUE,
    template          TEXT NOT NULL,
    recipient         TEXT NOT NULL,
    subject           TEXT NOT NULL,
    -- Template values as JSON. Never secrets: an invitation's accept token
    -- is fetched from identity when the email is written.
    params            TEXT NOT NULL,
    message_id        TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('PENDING', 'SENT', 'DEAD', 'SUPERSEDED')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT NOT NULL DEFAULT '',
    source_event      TEXT NOT NULL,
    create_time       BIGINT NOT NULL,
    next_attempt_time BIGINT NOT NULL,
    -- A worker that claimed the row holds it until then; if it dies, the
    -- row becomes due again.
    lease_until       BIGINT NOT NULL DEFAULT 0,
    send_time         BIGINT
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_time) WHERE state = 'PENDING';
CREATE INDEX deliveries_recipient ON deliveries (recipient, create_time);
CREATE INDEX deliveries_state ON deliveries (state, create_time);
