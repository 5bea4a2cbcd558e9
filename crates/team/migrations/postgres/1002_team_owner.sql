-- R-TEAM-1: one automatically created team per contract owner, even when two
-- of their contracts arrive at the same moment.
CREATE UNIQUE INDEX teams_one_per_owner ON teams (owner) WHERE owner IS NOT NULL;
