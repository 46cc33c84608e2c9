-- Records lifecycle (RET-01..RET-11): the facts the retention schedule needs on a case, personal
-- information files (RET-09), and dispositions proposed by one person and approved by another,
-- with their signed certificates. Times are unix milliseconds, dates TEXT YYYY-MM-DD, ids TEXT.

-- One row per case that has any retention fact; every change is audited.
CREATE TABLE case_retention_facts (
    case_id                 TEXT PRIMARY KEY REFERENCES cases(id),
    person_located_on       TEXT,
    firearm_recovered_on    TEXT,
    child_date_of_birth     TEXT,
    juvenile_date_of_birth  TEXT,
    -- the case's final disposition in words (e.g. "conviction upheld on appeal")
    final_disposition       TEXT,
    updated_by              TEXT NOT NULL REFERENCES users(id),
    updated_at              INTEGER NOT NULL
);

-- A disposed case keeps its row as a tombstone (number, dates, rule); its content is gone.
ALTER TABLE cases ADD COLUMN disposed_at INTEGER;
ALTER TABLE cases ADD COLUMN disposition_id TEXT;

-- Personal information files (RET-09): on a criminal or suspect (kept by dates of the person),
-- or on an associated person (victim, relative, witness), which follows its case.
CREATE TABLE personal_files (
    id              TEXT PRIMARY KEY,
    subject_kind    TEXT NOT NULL CHECK (subject_kind IN ('criminal_or_suspect', 'associated_person')),
    name            TEXT,
    date_of_birth   TEXT,
    date_of_death   TEXT,
    last_arrest_on  TEXT,
    case_id         TEXT REFERENCES cases(id),
    notes           TEXT,
    created_by      TEXT NOT NULL REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    disposed_at     INTEGER,
    disposition_id  TEXT
);
CREATE INDEX personal_files_case ON personal_files(case_id);

CREATE TABLE dispositions (
    id               TEXT PRIMARY KEY,
    -- case, personal_file
    record_kind      TEXT NOT NULL,
    record_id        TEXT NOT NULL,
    what             TEXT NOT NULL,
    rule             TEXT NOT NULL,
    due_on           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('proposed', 'rejected', 'executed')),
    proposed_by      TEXT NOT NULL,
    proposed_at      INTEGER NOT NULL,
    proposal_reason  TEXT NOT NULL,
    decided_by       TEXT,
    decided_at       INTEGER,
    decision_reason  TEXT,
    -- the signed certificate (JSON) once executed
    certificate      TEXT,
    key_id           TEXT,
    signature        TEXT
);
-- At most one open proposal per record.
CREATE UNIQUE INDEX dispositions_open ON dispositions(record_kind, record_id) WHERE status = 'proposed';
CREATE INDEX dispositions_status ON dispositions(status, proposed_at);
