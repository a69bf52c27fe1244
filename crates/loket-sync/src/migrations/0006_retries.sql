-- A scheduled run's slot is leased, not spent (issue 15): `retry_at` is when an unfinished slot is due again,
-- NULL once its run ended. While a worker runs it, that is the lease it keeps extending (a worker killed
-- mid-run lets it expire, and another takes the slot); after a failure, when it is tried again (a doubling
-- backoff), `attempts` counting the failures of this slot.
ALTER TABLE connections ADD COLUMN retry_at TEXT;
ALTER TABLE connections ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
