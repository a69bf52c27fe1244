-- Several workers on one database (issue 15): what a worker kept in memory is shared here, so that any
-- worker behind a load balancer can answer. The failed logins of each user name (the throttle), and the
-- Loket logins started and not yet finished, by the hash of their `state` (a browser may come back to
-- another worker than the one that sent it to Loket). Times are seconds since the epoch.
CREATE TABLE login_failures (
    name TEXT PRIMARY KEY,
    attempts BIGINT NOT NULL,
    since BIGINT NOT NULL
);
CREATE TABLE pending_loket_logins (
    state_hash TEXT PRIMARY KEY,
    loket_login_id BIGINT NOT NULL REFERENCES loket_logins(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
