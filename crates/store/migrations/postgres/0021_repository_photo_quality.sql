-- The measured quality of each repository photo's face at import (FR-06 measures applied to the
-- photo repository), so photos below the quality floor are flagged to the records officer, who
-- reviews each one. Times are unix ms; measures are the engine's quality report as JSON.
CREATE TABLE fr_record_quality (
    record_no    BIGINT PRIMARY KEY,
    measured_at  BIGINT NOT NULL,
    below_floor  BIGINT NOT NULL,        -- 1 when a measure is outside the floor
    measures     TEXT NOT NULL,
    issues       TEXT NOT NULL,      -- the measures outside the floor, in words, JSON list
    reviewed_by  TEXT,
    reviewed_at  BIGINT,
    review_note  TEXT
);
CREATE INDEX fr_record_quality_open ON fr_record_quality(below_floor, reviewed_at, record_no);
