-- Tour inspections (SEC-06): the areas of a command with computer systems, and the supervisor's
-- inspection of each once per tour. One inspection per area and tour. Times are unix ms.
CREATE TABLE computer_areas (
    id        TEXT PRIMARY KEY,
    command   TEXT NOT NULL,
    name      TEXT NOT NULL,
    added_by  TEXT NOT NULL REFERENCES users(id),
    added_at  INTEGER NOT NULL,
    UNIQUE (command, name)
);

CREATE TABLE tour_inspections (
    id            TEXT PRIMARY KEY,
    area_id       TEXT NOT NULL REFERENCES computer_areas(id),
    tour_date     TEXT NOT NULL,
    tour          TEXT NOT NULL,
    inspected_by  TEXT NOT NULL REFERENCES users(id),
    inspected_at  INTEGER NOT NULL,
    findings      TEXT NOT NULL,
    UNIQUE (area_id, tour_date, tour)
);
