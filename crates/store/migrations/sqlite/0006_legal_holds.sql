-- Legal holds (RET-11): while a hold is in force, the record it names is never disposed,
-- whatever its retention date. A hold is never deleted: releasing it records who, when and why.
-- Times are unix milliseconds, ids TEXT.
CREATE TABLE legal_holds (
    id              TEXT PRIMARY KEY,
    -- case, user, person, evidence_item, robot_frame, fr_request
    subject_kind    TEXT NOT NULL,
    -- the case number, the username, the person's name, or the item's id
    subject_ref     TEXT NOT NULL,
    -- a named person's date of birth (YYYY-MM-DD), when known
    date_of_birth   TEXT,
    matter          TEXT NOT NULL,
    reason          TEXT NOT NULL,
    placed_by       TEXT NOT NULL REFERENCES users(id),
    placed_at       INTEGER NOT NULL,
    released_by     TEXT REFERENCES users(id),
    released_at     INTEGER,
    release_reason  TEXT
);
CREATE INDEX legal_holds_subject ON legal_holds(subject_kind, subject_ref);
CREATE INDEX legal_holds_placed ON legal_holds(placed_at);
