-- R-INV-7: when the member's pending invitation expires, so admins see
-- INVITED with its expiry, or INVITATION_EXPIRED.
ALTER TABLE members ADD COLUMN invitation_expire_time INTEGER;
