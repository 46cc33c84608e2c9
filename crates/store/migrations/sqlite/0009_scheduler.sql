-- The job scheduler inside `probity serve`: named periodic jobs (retention runs) claimed under a
-- lease, so two servers on one database never run the same job at once; every run is recorded.
-- Times are unix milliseconds.
CREATE TABLE scheduler_leases (
    job          TEXT PRIMARY KEY,
    -- the node holding the lease while the job runs; NULL when idle
    owner        TEXT,
    lease_until  INTEGER,
    next_run_at  INTEGER NOT NULL
);

CREATE TABLE scheduler_runs (
    id           TEXT PRIMARY KEY,
    job          TEXT NOT NULL,
    node         TEXT NOT NULL,
    -- `schedule` (the clock) or the actor who asked for a run now
    triggered_by TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    -- NULL while running
    finished_at  INTEGER,
    outcome      TEXT CHECK (outcome IN ('ok', 'failed')),
    -- what the job reported (JSON)
    summary      TEXT,
    error        TEXT
);
CREATE INDEX scheduler_runs_started ON scheduler_runs(started_at);
CREATE INDEX scheduler_runs_job ON scheduler_runs(job, started_at);
