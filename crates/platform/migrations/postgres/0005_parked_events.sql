-- Events a consumer could not handle for a reason retrying cannot fix: the
-- handler's writes were rolled back, the stream went on, and the event
-- waits here with its reason. A consumer retries its parked events each
-- time it starts, so an operator fixes the cause and restarts the service.
CREATE TABLE parked_events (
    consumer    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    cursor      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    payload     BYTEA NOT NULL,
    park_time   BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
