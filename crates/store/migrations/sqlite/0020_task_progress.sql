-- Progress of long work a person waits for (card intakes, photo repository imports,
-- re-templating, retention runs), so the operations page can show each running task with its
-- progress and an estimate of the time left, from whichever node runs it. Times are unix ms.
-- A task whose node stops updating it is shown as stalled, never as running for ever.
CREATE TABLE task_progress (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,           -- card_intake | gallery_import | retemplating | retention_run
    label        TEXT NOT NULL,           -- what is worked through (a case, a job, an algorithm)
    started_by   TEXT NOT NULL,           -- the actor (user:… or system:…)
    node         TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    done         INTEGER NOT NULL,
    total        INTEGER,                 -- unknown until counted
    finished_at  INTEGER,
    outcome      TEXT                     -- completed | failed; NULL while running
);
CREATE INDEX task_progress_recent ON task_progress(finished_at, updated_at);
