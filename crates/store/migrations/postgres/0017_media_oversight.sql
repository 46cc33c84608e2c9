-- Oversight of recorded media (SEC-06): an Integrity Control Officer's record of what recorded
-- media of a command was checked (e.g. a DVR, a camera dock, a storage room), how, and what was
-- found. Times are unix ms.
CREATE TABLE media_oversight (
    id           TEXT PRIMARY KEY,
    command      TEXT NOT NULL,
    medium       TEXT NOT NULL,
    checked      TEXT NOT NULL,
    findings     TEXT NOT NULL,
    recorded_by  TEXT NOT NULL REFERENCES users(id),
    recorded_at  BIGINT NOT NULL
);
CREATE INDEX media_oversight_command ON media_oversight(command, recorded_at);
