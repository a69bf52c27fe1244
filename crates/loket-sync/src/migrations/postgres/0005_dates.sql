-- Run dates as dates (issue 15): PostgreSQL keeps them as DATE, so a value that is not a civil date cannot
-- be stored. The statements write them as CAST($n AS DATE) and read them as CAST(run_date AS TEXT): sqlx's
-- Any driver carries no DATE type. Times stay RFC 3339 UTC text, as in SQLite.
ALTER TABLE runs ALTER COLUMN run_date TYPE DATE USING CAST(run_date AS DATE);
ALTER TABLE plans ALTER COLUMN run_date TYPE DATE USING CAST(run_date AS DATE);
