-- Facial recognition: the photo repository (FR-01, FR-02), probes kept apart (FR-03), requests
-- for analysis and their candidate pools, reports, outside-agency requests and the lead-only
-- arrest basis (FR-04..FR-20). Same columns as the PostgreSQL schema.

CREATE TABLE fr_subjects (
    id          TEXT PRIMARY KEY,
    created_at  INTEGER NOT NULL
);

CREATE TABLE fr_records (
    record_no     INTEGER PRIMARY KEY,
    subject_id    TEXT NOT NULL REFERENCES fr_subjects(id),
    source        TEXT NOT NULL CHECK (source IN ('arrest', 'parole')),
    arrest_id     TEXT NOT NULL CHECK (arrest_id <> ''),
    photo_date    TEXT NOT NULL CHECK (photo_date <> ''),
    photo_blob    TEXT NOT NULL UNIQUE REFERENCES blobs(id),
    photo_sha256  TEXT NOT NULL UNIQUE,
    sealed        INTEGER NOT NULL DEFAULT 0,
    sealed_at     INTEGER,
    removed       INTEGER NOT NULL DEFAULT 0,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX fr_records_arrest ON fr_records(arrest_id);

CREATE TABLE fr_templates (
    record_no   INTEGER NOT NULL REFERENCES fr_records(record_no),
    algorithm   TEXT NOT NULL,
    template    BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (record_no, algorithm)
);

CREATE TABLE fr_requests (
    id              TEXT PRIMARY KEY,
    case_id         TEXT NOT NULL REFERENCES cases(id),
    case_number     TEXT NOT NULL,
    requester       TEXT NOT NULL REFERENCES users(id),
    state           TEXT NOT NULL,
    authorized_use  TEXT,
    external_id     TEXT,
    data            TEXT NOT NULL,
    edits           TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX fr_requests_state ON fr_requests(state);
CREATE INDEX fr_requests_case ON fr_requests(case_id);

CREATE TABLE fr_probes (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES fr_requests(id),
    position    INTEGER NOT NULL,
    blob_id     TEXT NOT NULL UNIQUE REFERENCES blobs(id),
    sha256      TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    source      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX fr_probes_sha ON fr_probes(sha256);

CREATE TABLE fr_candidates (
    request_id  TEXT NOT NULL REFERENCES fr_requests(id),
    rank        INTEGER NOT NULL,
    record_no   INTEGER NOT NULL REFERENCES fr_records(record_no),
    score       DOUBLE PRECISION NOT NULL,
    algorithm   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (request_id, rank)
);

CREATE TABLE fr_reports (
    request_id  TEXT PRIMARY KEY REFERENCES fr_requests(id),
    case_id     TEXT NOT NULL REFERENCES cases(id),
    kind        TEXT NOT NULL CHECK (kind IN ('possible_match', 'negative')),
    body        TEXT NOT NULL,
    pdf_blob    TEXT REFERENCES blobs(id),
    created_at  INTEGER NOT NULL
);

CREATE TABLE fr_external_requests (
    id                       TEXT PRIMARY KEY,
    agency                   TEXT NOT NULL,
    contact                  TEXT NOT NULL,
    investigation_reference  TEXT NOT NULL,
    documented_by            TEXT NOT NULL,
    received_at              INTEGER NOT NULL
);

CREATE TABLE fr_case_entries (
    id           TEXT PRIMARY KEY,
    case_id      TEXT NOT NULL REFERENCES cases(id),
    request_id   TEXT,
    kind         TEXT NOT NULL CHECK (kind IN ('corroborating_evidence', 'arrest_basis')),
    text         TEXT NOT NULL,
    recorded_by  TEXT NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL
);
CREATE INDEX fr_case_entries_case ON fr_case_entries(case_id);
