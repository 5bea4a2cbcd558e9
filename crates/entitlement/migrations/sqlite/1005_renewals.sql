-- R-MAIL-4: a term contract's last day, and the renewal reminders its
-- owner got (30 and 7 days before), once each, across restarts.
ALTER TABLE contracts ADD COLUMN end_day INTEGER;
CREATE TABLE renewal_reminders (
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    days_before INTEGER NOT NULL,
    send_time   INTEGER NOT NULL,
    PRIMARY KEY (contract_id, days_before)
);
