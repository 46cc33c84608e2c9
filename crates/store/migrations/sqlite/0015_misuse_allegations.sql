-- Allegations of misuse (SEC-06): who is alleged to have misused which records, what and when;
-- assigned to the command or to the Internal Affairs Bureau; tracked to an outcome. The audit
-- entries that bear on an allegation are found in the trail by its subject, time range and
-- records, so they are never copied here. Times are unix milliseconds.
CREATE TABLE misuse_allegations (
    id                TEXT PRIMARY KEY,
    subject_username  TEXT NOT NULL,
    -- the subject's command when the allegation came in (command-level assignment)
    subject_command   TEXT,
    description       TEXT NOT NULL,
    occurred_from     INTEGER NOT NULL,
    occurred_to       INTEGER NOT NULL,
    -- JSON array of {"type": ..., "id": ...}
    records           TEXT NOT NULL,
    -- how it came in: complaint, audit, supervisor, anonymous, other
    source            TEXT NOT NULL,
    received_by       TEXT NOT NULL REFERENCES users(id),
    received_at       INTEGER NOT NULL,
    -- received | assigned | closed
    status            TEXT NOT NULL,
    -- 'iab' or 'command'
    assigned_to       TEXT,
    assigned_by       TEXT REFERENCES users(id),
    assigned_at       INTEGER,
    assignment_reason TEXT,
    -- substantiated | unsubstantiated | unfounded | exonerated
    outcome           TEXT,
    outcome_note      TEXT,
    closed_by         TEXT REFERENCES users(id),
    closed_at         INTEGER
);
CREATE INDEX misuse_status ON misuse_allegations(status, received_at);
CREATE INDEX misuse_subject ON misuse_allegations(subject_username);
