-- Thermographic cameras (TH-04, TH-05, RET-10). Live frames are never stored (TH-03): there is
-- no table for them. Times are unix milliseconds, ids TEXT.

-- A supervisor's authorization of one deployment of one thermal source (TH-05).
CREATE TABLE thermal_authorizations (
    id                  TEXT PRIMARY KEY,
    command             TEXT NOT NULL,
    source              TEXT NOT NULL,
    source_kind         TEXT NOT NULL,
    basis               TEXT NOT NULL,
    risks_to_personnel  TEXT NOT NULL,
    risks_to_civilians  TEXT NOT NULL,
    risks_to_suspects   TEXT NOT NULL,
    legitimate_purpose  TEXT NOT NULL,
    starts_at           BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    authorized_by       TEXT NOT NULL REFERENCES users(id),
    authorized_at       BIGINT NOT NULL
);
CREATE INDEX thermal_authorizations_source ON thermal_authorizations(source, expires_at);

-- Autonomous security robot frames: the one thermal data kept (TH-04), encrypted in the blob
-- store, 30 days unless moved into a case (RET-10).
CREATE TABLE thermal_robot_frames (
    id                TEXT PRIMARY KEY,
    source            TEXT NOT NULL,
    authorization_id  TEXT NOT NULL REFERENCES thermal_authorizations(id),
    blob_id           TEXT NOT NULL UNIQUE REFERENCES blobs(id),
    captured_at       BIGINT NOT NULL,
    received_at       BIGINT NOT NULL,
    case_id           TEXT REFERENCES cases(id),
    moved_by          TEXT,
    moved_at          BIGINT,
    disposed_at       BIGINT,
    certificate_id    TEXT
);
CREATE INDEX thermal_robot_frames_due ON thermal_robot_frames(disposed_at, case_id, captured_at);
