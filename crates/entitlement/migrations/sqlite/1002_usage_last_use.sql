-- Last use per person and product (R-USE-3).
CREATE INDEX usage_records_last_use ON usage_records (team_id, account_id, product_id, time);
