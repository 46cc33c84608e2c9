-- Probity foundation schema (PostgreSQL). Times are BIGINT unix milliseconds (UTC), ids are
-- UUID text, hashes are lowercase hex, enumerations are TEXT parsed by the domain crate,
-- booleans are BIGINT 0/1. The SQLite schema mirrors this one column for column.

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    rank            TEXT,
    command         TEXT,
    password_hash   TEXT,
    totp_secret     TEXT,
    totp_last_step  BIGINT,
    failed_logins   BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    kind            TEXT NOT NULL CHECK (kind IN ('member', 'service', 'vendor', 'external_agency')),
    created_at      BIGINT NOT NULL
);

CREATE TABLE user_roles (
    user_id     TEXT NOT NULL REFERENCES users(id),
    role        TEXT NOT NULL,
    granted_by  TEXT,
    granted_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE assignments (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    role        TEXT,
    unit        TEXT,
    command     TEXT NOT NULL,
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT,
    created_at  BIGINT NOT NULL,
    CHECK (role IS NOT NULL OR unit IS NOT NULL)
);
CREATE INDEX assignments_user ON assignments(user_id, starts_at);

CREATE TABLE training_records (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    course        TEXT NOT NULL,
    completed_at  BIGINT NOT NULL,
    expires_at    BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX training_user ON training_records(user_id, course);

CREATE TABLE vendor_contracts (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    contract_ref  TEXT NOT NULL,
    starts_at     BIGINT NOT NULL,
    ends_at       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX vendor_contracts_user ON vendor_contracts(user_id);

CREATE TABLE sessions (
    token_hash          TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users(id),
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    second_factor_done  BIGINT NOT NULL DEFAULT 0,
    remote              BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users(id),
    label       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE cases (
    id                        TEXT PRIMARY KEY,
    case_number               TEXT NOT NULL UNIQUE,
    offence_classification    TEXT NOT NULL,
    status                    TEXT NOT NULL,
    command                   TEXT NOT NULL,
    assigned_investigator     TEXT REFERENCES users(id),
    political_activity        BIGINT NOT NULL DEFAULT 0,
    closure_reason            TEXT,
    closed_at                 BIGINT,
    created_by                TEXT NOT NULL,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);
CREATE INDEX cases_investigator ON cases(assigned_investigator);
CREATE INDEX cases_status ON cases(status);

CREATE TABLE blobs (
    id            TEXT PRIMARY KEY,
    object_path   TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    media_type    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    master_key_id TEXT NOT NULL,
    wrapped_key   BYTEA,
    destroyed_at  BIGINT
);

CREATE TABLE disposition_certificates (
    id            TEXT PRIMARY KEY,
    blob_id       TEXT NOT NULL UNIQUE REFERENCES blobs(id),
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    media_type    TEXT NOT NULL,
    what          TEXT NOT NULL,
    reason        TEXT NOT NULL,
    rule          TEXT NOT NULL,
    approved_by   TEXT NOT NULL,
    executed_by   TEXT NOT NULL,
    executed_at   BIGINT NOT NULL
);

CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    record_type  TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    reason       TEXT,
    outcome      TEXT NOT NULL,
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_record ON audit_log(record_type, record_id, seq);
CREATE INDEX audit_actor ON audit_log(actor, at);
CREATE INDEX audit_at ON audit_log(at);

-- One row: the last appended entry, signed by the server key on every append.
CREATE TABLE audit_head (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    key_id     TEXT,
    signature  TEXT
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_checkpoints (
    seq         BIGINT PRIMARY KEY,
    hash        TEXT NOT NULL,
    at          BIGINT NOT NULL,
    key_id      TEXT NOT NULL,
    signature   TEXT NOT NULL
);

CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    queue         TEXT NOT NULL,
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    max_attempts  BIGINT NOT NULL,
    run_after     BIGINT NOT NULL,
    lease_owner   TEXT,
    lease_until   BIGINT,
    last_error    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX jobs_claim ON jobs(queue, status, run_after);
