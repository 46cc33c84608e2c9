-- Disclosures of identifying information outside the Department (EXT-01..EXT-04): proposed by
-- case staff with the recipient, the purpose, one basis of the seven and how the requester's
-- identity was confirmed; approved or rejected by the Agency Privacy Officer (never the
-- proposer); released by the records officer as a signed manifest with hashes. Nothing leaves
-- before approval. Times are unix milliseconds.
CREATE TABLE disclosures (
    id                    TEXT PRIMARY KEY,
    case_id               TEXT NOT NULL REFERENCES cases(id),
    case_number           TEXT NOT NULL,
    -- proposed | approved | rejected | released
    status                TEXT NOT NULL,
    recipient_kind        TEXT NOT NULL,
    recipient_name        TEXT NOT NULL,
    recipient_affiliation TEXT NOT NULL,
    purpose               TEXT NOT NULL,
    identifying           INTEGER NOT NULL,
    basis                 TEXT,
    -- the reference the basis needs (authorization, pre-approval, designation, investigation)
    basis_reference       TEXT,
    identity_method       TEXT NOT NULL,
    identity_confirmed_by TEXT NOT NULL REFERENCES users(id),
    -- JSON array of evidence item ids
    items                 TEXT NOT NULL,
    proposed_by           TEXT NOT NULL REFERENCES users(id),
    proposed_at           BIGINT NOT NULL,
    decided_by            TEXT REFERENCES users(id),
    decided_at            BIGINT,
    decision_note         TEXT,
    released_by           TEXT REFERENCES users(id),
    released_at           BIGINT,
    -- the signed manifest (JSON) and its Ed25519 signature (base64), kept as the release log
    manifest              TEXT,
    manifest_sha256       TEXT,
    signature             TEXT
);
CREATE INDEX disclosures_status ON disclosures(status, proposed_at);
CREATE INDEX disclosures_case ON disclosures(case_id);
