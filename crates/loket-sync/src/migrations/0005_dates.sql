-- Run dates as dates (issue 15). SQLite has no DATE type: its run dates stay ISO text (YYYY-MM-DD), which
-- compares and sorts as the dates do. PostgreSQL's columns become DATE (migrations/postgres/0005_dates.sql).
SELECT 1;
