
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    who TEXT NOT NULL,
    run_date TEXT NOT NULL,
    outcome TEXT,
    writes_planned INTEGER NOT NULL DEFAULT 0,
    writes_sent INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0,
    allow_mass_changes INTEGER NOT NULL DEFAULT 0,
    guard_report TEXT
);
CREATE TABLE issues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    code TEXT NOT NULL,
    severity TEXT NOT NULL,
    person TEXT,
    employee_number TEXT,
    period TEXT,
    message TEXT NOT NULL
);
CREATE TABLE journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    at TEXT NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('intent', 'result')),
    employment_id TEXT NOT NULL,
    employee_number TEXT NOT NULL,
    rule TEXT NOT NULL,
    record_key TEXT NOT NULL,
    description TEXT NOT NULL,
    before_value TEXT,
    after_value TEXT,
    outcome TEXT
);
CREATE INDEX journal_employee ON journal(employee_number);
CREATE INDEX journal_record ON journal(record_key);
CREATE TABLE locks (
    key TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
