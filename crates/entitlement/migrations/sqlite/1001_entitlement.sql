-- Entitlement's own tables arrive with the catalog, contracts and seats;
-- this first version carries the shared outbox and consumer tables only.
SELECT 1;
