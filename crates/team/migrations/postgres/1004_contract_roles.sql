-- Who manages and who coordinates each classic (serial-number) contract,
-- followed from entitlement's events. Removing a member checks R-CLS-6
-- here, so removals keep working while entitlement is unavailable.
CREATE TABLE contract_roles (
    contract    TEXT PRIMARY KEY,
    team        TEXT NOT NULL,
    manager     TEXT NOT NULL,
    coordinator TEXT NOT NULL
);
CREATE INDEX contract_roles_team ON contract_roles (team);
