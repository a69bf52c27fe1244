-- The service (`loket-sync serve`): connections (what one loket-sync.toml holds), the Loket logins they
-- share, users with their sessions and API tokens, plans waiting for approval, approvals, and the audit
-- journal of every change to them. Columns named *_sealed hold AES-256-GCM ciphertext (service/crypto.rs),
-- never a secret in the clear. Times are RFC 3339 UTC text, as in the runs.
CREATE TABLE loket_logins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    base_url TEXT NOT NULL,
    oauth_url TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_sealed TEXT NOT NULL,
    tokens_sealed TEXT,
    needs_login INTEGER NOT NULL DEFAULT 1,
    UNIQUE (base_url, oauth_url, client_id)
);
CREATE TABLE connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL,
    personio_secret_sealed TEXT NOT NULL,
    loket_login_id INTEGER NOT NULL REFERENCES loket_logins(id),
    mode TEXT NOT NULL DEFAULT 'review' CHECK (mode IN ('review', 'auto')),
    schedule TEXT,
    last_scheduled_at TEXT,
    approvals_required INTEGER NOT NULL DEFAULT 1 CHECK (approvals_required IN (1, 2)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'rejected', 'stale', 'failed', 'in_sync')),
    requested_by TEXT,
    allow_mass_changes INTEGER NOT NULL DEFAULT 0,
    run_date TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    document TEXT NOT NULL,
    writes INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    decided_at TEXT,
    run_id INTEGER REFERENCES runs(id)
);
CREATE INDEX plans_connection ON plans(connection_id, status);
CREATE TABLE approvals (
    plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    at TEXT NOT NULL,
    PRIMARY KEY (plan_id, user_name)
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    before_value TEXT,
    after_value TEXT
);
ALTER TABLE runs ADD COLUMN connection_id INTEGER REFERENCES connections(id);
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id INTEGER REFERENCES connections(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('webhook', 'email')),
    target TEXT NOT NULL,
    target_sealed TEXT,
    events TEXT NOT NULL,
    secret_sealed TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    delivered_at TEXT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox(delivered_at, next_at);
