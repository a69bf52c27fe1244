-- A scheduled run's slot is leased, not spent (issue 15); see ../0006_retries.sql.
ALTER TABLE connections ADD COLUMN retry_at TEXT;
ALTER TABLE connections ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
