-- Digital camera evidence (DC-01..DC-07): intakes from cards and uploads, immutable evidence
-- items (originals and thumbnails live in the encrypted blob store), camera inventory and
-- supervisor inspections. JSON documents are TEXT; times INTEGER unix ms; booleans INTEGER 0/1.

CREATE TABLE evidence_intakes (
    id              TEXT PRIMARY KEY,
    case_id         TEXT NOT NULL REFERENCES cases(id),
    source_kind     TEXT NOT NULL CHECK (source_kind IN ('card', 'upload')),
    source_label    TEXT NOT NULL,
    importer        TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    results         TEXT NOT NULL DEFAULT '[]',
    certificate     TEXT,
    certificate_signature TEXT,
    device_flag     TEXT
);
CREATE INDEX evidence_intakes_case ON evidence_intakes(case_id, started_at);

CREATE TABLE evidence_items (
    id                  TEXT PRIMARY KEY,
    case_id             TEXT NOT NULL REFERENCES cases(id),
    intake_id           TEXT NOT NULL REFERENCES evidence_intakes(id),
    blob_id             TEXT NOT NULL REFERENCES blobs(id),
    thumbnail_blob_id   TEXT REFERENCES blobs(id),
    sha256              TEXT NOT NULL,
    original_filename   TEXT NOT NULL,
    format              TEXT NOT NULL,
    size                INTEGER NOT NULL,
    importer            TEXT NOT NULL,
    imported_at         INTEGER NOT NULL,
    metadata            TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    legal_basis         TEXT NOT NULL,
    political_activity  INTEGER NOT NULL DEFAULT 0,
    device_serial       TEXT,
    UNIQUE (case_id, sha256)
);
CREATE INDEX evidence_items_case ON evidence_items(case_id, imported_at);

CREATE TABLE devices (
    id                        TEXT PRIMARY KEY,
    device_type               TEXT NOT NULL,
    make                      TEXT NOT NULL,
    model                     TEXT NOT NULL,
    serial                    TEXT NOT NULL UNIQUE,
    storage_location          TEXT NOT NULL,
    command                   TEXT NOT NULL,
    assigned_to               TEXT REFERENCES users(id),
    assigned_at               INTEGER,
    inspection_interval_days  INTEGER NOT NULL,
    created_by                TEXT NOT NULL,
    created_at                INTEGER NOT NULL
);
CREATE INDEX devices_command ON devices(command);

CREATE TABLE device_inspections (
    id              TEXT PRIMARY KEY,
    device_id       TEXT NOT NULL REFERENCES devices(id),
    inspected_by    TEXT NOT NULL,
    inspected_at    INTEGER NOT NULL,
    accounted_for   INTEGER NOT NULL,
    notes           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX device_inspections_device ON device_inspections(device_id, inspected_at);
