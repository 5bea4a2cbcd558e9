-- R-INV-1: a person who already has an account is invited into each team
-- on its own; at most one pending invitation per account and team.
DROP INDEX invitations_one_pending;
CREATE UNIQUE INDEX invitations_one_pending_per_team ON invitations (account_id, team) WHERE state = 'PENDING';
