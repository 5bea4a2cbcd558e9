-- An operator asks for a parked event to be handled again (`allot parked
-- retry`): the running consumer picks up rows with a retry time within
-- seconds; a retry that fails again clears it and records the new reason.
ALTER TABLE parked_events ADD COLUMN retry_time BIGINT;
