-- Public records requests under New York's Freedom of Information Law (PUB-01). Nothing is ever
-- deleted: a removed redaction box keeps who removed it and when; releases are a log. Dates the
-- statute counts (receipt, acknowledgement, decision, appeal) are calendar dates 'YYYY-MM-DD';
-- instants are unix milliseconds; people are usernames (the audit trail names them the same way).
CREATE TABLE foil_requests (
    id                  TEXT PRIMARY KEY,
    -- the receipt number given to the requester, FOIL-YYYY-NNNNNN
    receipt             TEXT NOT NULL UNIQUE,
    -- officer, public
    channel             TEXT NOT NULL,
    requester           TEXT NOT NULL,
    contact             TEXT NOT NULL,
    description         TEXT NOT NULL,
    received_on         TEXT NOT NULL,
    logged_at           INTEGER NOT NULL,
    -- the FOIL officer who logged it; NULL for the public form
    logged_by           TEXT,
    -- SHA-256 of the public form's client address (rate limit), never the address itself
    client_hash         TEXT,
    -- received, acknowledged, granted, denied, appealed, appeal_decided
    status              TEXT NOT NULL,
    acknowledged_on     TEXT,
    acknowledged_by     TEXT,
    decision_by         TEXT,
    extension_reason    TEXT,
    review_completed_by TEXT,
    review_completed_at INTEGER,
    review_notes        TEXT,
    -- grant, deny
    outcome             TEXT,
    -- JSON array of the cited paragraph letters of POL §87(2)
    exemptions          TEXT,
    decided_on          TEXT,
    decided_by          TEXT,
    decided_at          INTEGER,
    decision_notes      TEXT,
    recipient           TEXT
);
CREATE INDEX foil_requests_received ON foil_requests(received_on);
CREATE INDEX foil_requests_client ON foil_requests(client_hash, logged_at);

-- Responsive records gathered for a request: evidence items of cases.
CREATE TABLE foil_records (
    id                  TEXT PRIMARY KEY,
    request_id          TEXT NOT NULL REFERENCES foil_requests(id),
    evidence_item_id    TEXT NOT NULL REFERENCES evidence_items(id),
    case_number         TEXT NOT NULL,
    -- the original's SHA-256 when gathered (the original itself is never changed, DC-05)
    source_sha256       TEXT NOT NULL,
    original_filename   TEXT NOT NULL,
    width               INTEGER NOT NULL,
    height              INTEGER NOT NULL,
    gathered_by         TEXT NOT NULL,
    gathered_at         INTEGER NOT NULL,
    faces_detected_at   INTEGER,
    faces_detected_by   TEXT,
    faces_found         INTEGER,
    UNIQUE (request_id, evidence_item_id)
);
CREATE INDEX foil_records_request ON foil_records(request_id);

-- Redaction boxes on a record: proposed by the face detector or drawn by the reviewer.
CREATE TABLE foil_redactions (
    id          TEXT PRIMARY KEY,
    record_id   TEXT NOT NULL REFERENCES foil_records(id),
    -- the box in pixels of the decoded image: left, top, width, height
    box_x       INTEGER NOT NULL,
    box_y       INTEGER NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    -- face, plate, tattoo, text, other
    kind        TEXT NOT NULL,
    -- detector, reviewer
    source      TEXT NOT NULL,
    note        TEXT,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    removed_by  TEXT,
    removed_at  INTEGER
);
CREATE INDEX foil_redactions_record ON foil_redactions(record_id);

-- The release log: each file released, to whom, with the original's and the copy's hashes.
CREATE TABLE foil_releases (
    id              TEXT PRIMARY KEY,
    request_id      TEXT NOT NULL REFERENCES foil_requests(id),
    record_id       TEXT NOT NULL REFERENCES foil_records(id),
    blob_id         TEXT NOT NULL REFERENCES blobs(id),
    source_sha256   TEXT NOT NULL,
    released_sha256 TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    exemptions      TEXT NOT NULL,
    boxes           INTEGER NOT NULL,
    released_by     TEXT NOT NULL,
    released_at     INTEGER NOT NULL
);
CREATE INDEX foil_releases_request ON foil_releases(request_id);
CREATE INDEX foil_releases_at ON foil_releases(released_at);

-- Appeals (POL §89(4)(a)): logged within thirty days of the denial, decided within ten business
-- days of receipt.
CREATE TABLE foil_appeals (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES foil_requests(id),
    received_on TEXT NOT NULL,
    grounds     TEXT NOT NULL,
    decide_by   TEXT NOT NULL,
    logged_by   TEXT NOT NULL,
    logged_at   INTEGER NOT NULL,
    -- upheld, reversed
    outcome     TEXT,
    reason      TEXT,
    decided_on  TEXT,
    decided_by  TEXT,
    decided_at  INTEGER
);
CREATE INDEX foil_appeals_request ON foil_appeals(request_id);
