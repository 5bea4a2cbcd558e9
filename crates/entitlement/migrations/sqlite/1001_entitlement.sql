-- The catalog: products and their items (the desktop application, cloud
-- services, support benefits).
CREATE TABLE products (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    create_time  INTEGER NOT NULL
);

CREATE TABLE product_items (
    product_id   TEXT NOT NULL REFERENCES products (id),
    item_id      TEXT NOT NULL,
    display_name TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('APPLICATION', 'CLOUD_SERVICE', 'SUPPORT')),
    position     INTEGER NOT NULL,
    PRIMARY KEY (product_id, item_id)
);

-- What was bought. The owner is the contract manager (R-ROLE-8, R-CLS-1).
CREATE TABLE contracts (
    id                   TEXT PRIMARY KEY,
    owner                TEXT NOT NULL,
    owner_email          TEXT NOT NULL,
    activation_type      TEXT NOT NULL CHECK (activation_type IN ('SIGN_IN', 'SERIAL_NUMBER')),
    serial_number        TEXT NOT NULL,
    plan                 TEXT NOT NULL CHECK (plan IN ('STANDARD', 'PREMIUM')),
    billing              TEXT NOT NULL CHECK (billing IN ('TERM', 'PAY_PER_USE')),
    collaboration_site   TEXT NOT NULL,
    sso_enabled          INTEGER NOT NULL,
    team_id              TEXT NOT NULL,
    software_coordinator TEXT NOT NULL,
    request_id           TEXT UNIQUE,
    create_time          INTEGER NOT NULL
);
CREATE INDEX contracts_owner ON contracts (owner);
CREATE INDEX contracts_coordinator ON contracts (software_coordinator);
CREATE INDEX contracts_team ON contracts (team_id);

-- A product with seats under a contract, in exactly one team.
CREATE TABLE subscriptions (
    id          TEXT PRIMARY KEY,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    product_id  TEXT NOT NULL REFERENCES products (id),
    seats       INTEGER NOT NULL CHECK (seats > 0),
    team_id     TEXT NOT NULL,
    create_time INTEGER NOT NULL
);
CREATE INDEX subscriptions_team ON subscriptions (team_id, product_id);
CREATE INDEX subscriptions_contract ON subscriptions (contract_id);

-- A team's seats of one product: the sum of its subscriptions (R-SEAT-1),
-- and how many are taken. Taking a seat is one conditional update of this
-- row; the CHECK makes overselling impossible even for a buggy writer.
CREATE TABLE pools (
    team_id         TEXT NOT NULL,
    product_id      TEXT NOT NULL REFERENCES products (id),
    seats           INTEGER NOT NULL CHECK (seats >= 0),
    assigned        INTEGER NOT NULL CHECK (assigned >= 0 AND assigned <= seats),
    activation_type TEXT NOT NULL,
    serial_number   TEXT NOT NULL,
    PRIMARY KEY (team_id, product_id)
);

-- Seats held: one per person, product and team, with the items they may
-- use (space-separated ids). direct: assigned by hand; group sources below.
CREATE TABLE assignments (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    email       TEXT NOT NULL,
    product_id  TEXT NOT NULL,
    items       TEXT NOT NULL,
    direct      INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    UNIQUE (team_id, account_id, product_id)
);
CREATE INDEX assignments_account ON assignments (account_id);
CREATE INDEX assignments_pool ON assignments (team_id, product_id);

-- Products given to every member of a group (R-SEAT-5).
CREATE TABLE group_assignments (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL,
    group_id    TEXT NOT NULL,
    product_id  TEXT NOT NULL,
    items       TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    UNIQUE (team_id, group_id, product_id)
);

-- Which group assignments a seat comes from.
CREATE TABLE assignment_sources (
    assignment_id       TEXT NOT NULL REFERENCES assignments (id),
    group_assignment_id TEXT NOT NULL REFERENCES group_assignments (id),
    PRIMARY KEY (assignment_id, group_assignment_id)
);
CREATE INDEX assignment_sources_group ON assignment_sources (group_assignment_id);

-- Launches recorded by the entitlement check (R-USE-1), for reports.
CREATE TABLE usage_records (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL,
    account_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    time       INTEGER NOT NULL,
    day        INTEGER NOT NULL
);
CREATE INDEX usage_records_report ON usage_records (team_id, day, product_id);

-- A pool's seats and assigned at the end of each day it changed (R-USE-2).
CREATE TABLE pool_days (
    team_id    TEXT NOT NULL,
    product_id TEXT NOT NULL,
    day        INTEGER NOT NULL,
    seats      INTEGER NOT NULL,
    assigned   INTEGER NOT NULL,
    PRIMARY KEY (team_id, product_id, day)
);
