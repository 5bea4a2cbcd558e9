-- Premium subscriptions sitting in each team, followed from entitlement's
-- events: a team's plan is PREMIUM while it holds one (R-ROLE-5).
CREATE TABLE premium_subscriptions (
    subscription_id TEXT PRIMARY KEY,
    team_id         TEXT NOT NULL
);
CREATE INDEX premium_subscriptions_team ON premium_subscriptions (team_id);
