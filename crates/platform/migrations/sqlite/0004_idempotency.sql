-- AIP-155 request ids: the first answer to a create or add, kept for the
-- retention window, so a retry with the same id changes nothing.
CREATE TABLE idempotency_keys (
    caller      TEXT NOT NULL,
    method      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    answer      TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (caller, method, request_id)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (create_time);
