-- R-AUTH-1, R-AUTH-2: a person's password, kept only as an argon2id hash,
-- and the failed sign-ins that slow further attempts down (per account
-- and per address; `subject` is `account:<id>`, `email:<address>` or
-- `address:<ip>`).
CREATE TABLE account_passwords (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    hash TEXT NOT NULL,
    change_time BIGINT NOT NULL
);
CREATE TABLE sign_in_failures (
    subject TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_time BIGINT NOT NULL
);
