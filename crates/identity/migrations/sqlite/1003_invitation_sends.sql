-- R-INV-1: every invitation email a team sends, new or resent, counts
-- against the team's hourly share.
CREATE TABLE invitation_sends (
    team TEXT NOT NULL,
    send_time BIGINT NOT NULL
);
CREATE INDEX invitation_sends_by_team ON invitation_sends (team, send_time);
INSERT INTO invitation_sends (team, send_time)
    SELECT team, create_time FROM invitations WHERE state = 'PENDING';
